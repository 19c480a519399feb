import type { S3ServiceException } from '@aws-sdk/client-s3';

/** What S3 answered, in one line: `NoSuchBucket (HTTP 404): The specified bucket does not exist`. */
export function describeS3Error(error: S3ServiceException): string {
  const status = error.$metadata.httpStatusCode;
  return `${error.name}${status === undefined ? '' : ` (HTTP ${status})`}: ${error.message}`;
}
