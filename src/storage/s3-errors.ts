import { S3ServiceException } from '@aws-sdk/client-s3';

/**
 * True when S3 says the object is absent: NoSuchKey from GetObject, or the
 * bare 404 of HeadObject (a HEAD response has no body to name the error).
 * NoSuchBucket is deliberately not "not found": a missing bucket is a
 * configuration error that must surface, not an empty result.
 */
export function isS3NotFound(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  if (error.name === 'NoSuchKey') return true;
  return error.name === 'NotFound' && error.$metadata.httpStatusCode === 404;
}
