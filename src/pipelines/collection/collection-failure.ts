import { S3ServiceException } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import { errorMessage } from '../../lib/permanent-error.js';
import { SourceUnavailableError } from '../sources/source-unavailable-error.js';
import type { SourceDefinition } from '../sources/source-definition.js';
import { CollectionLockLostError } from './collection-lock.js';

/** A failed collection as the pipeline shows it: `{ code, message }`, like the API's own errors. */
export interface CollectionFailure {
  code: string;
  message: string;
}

/** Longer messages are cut: the record is one small Redis value, rewritten on every collection. */
const MAX_MESSAGE_CHARS = 500;

/** S3 error names that mean the worker's credentials may not list the bucket. */
const S3_DENIED = new Set(['AccessDenied', 'AllAccessDisabled', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'AccountProblem']);

/**
 * Names a collection's failure for the user who reads the pipeline: which
 * source, and what it answered (`s3://uploads/images/: NoSuchBucket: …`),
 * rather than the worker's log line. Messages pass through `redact`, since
 * the API shows them to anyone who may read pipelines.
 */
export function describeCollectionFailure(error: unknown, source: SourceDefinition | undefined): CollectionFailure {
  if (error instanceof SourceUnavailableError) return failure(error.code, error.message);
  if (error instanceof S3ServiceException) {
    const where = source?.type === 's3' ? `s3://${source.bucket}/${source.prefix ?? ''}` : 's3';
    const status = error.$metadata.httpStatusCode;
    const code = error.name === 'NoSuchBucket' ? 'source_not_found' : S3_DENIED.has(error.name) || status === 403 ? 'source_access_denied' : 'source_error';
    return failure(code, `${where}: ${error.name}${status === undefined ? '' : ` (HTTP ${status})`}: ${error.message}`);
  }
  // The SDK's credential chain found nothing: S3 was never asked.
  if (error instanceof Error && error.name === 'CredentialsProviderError') return failure('source_access_denied', `no AWS credentials for the s3 source: ${error.message}`);
  if (error instanceof CollectionLockLostError) return failure('collection_interrupted', error.message);
  if (error instanceof UnrecoverableError) return failure('collection_refused', error.message);
  return failure('collection_failed', errorMessage(error));
}

function failure(code: string, message: string): CollectionFailure {
  const redacted = redact(message);
  return { code, message: redacted.length > MAX_MESSAGE_CHARS ? `${redacted.slice(0, MAX_MESSAGE_CHARS - 1)}…` : redacted };
}

/**
 * Drops what could be a secret from a message: the user and password of a
 * URL (`redis://:pw@host`, an endpoint with credentials) and request
 * signatures or tokens in a query string.
 */
export function redact(message: string): string {
  return message
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1…@')
    .replace(/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|token|key)=)[^&\s]+/gi, '$1…');
}
