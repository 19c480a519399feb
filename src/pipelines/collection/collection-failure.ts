import { S3ServiceException } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import { capMessage } from '../../lib/cap-message.js';
import { errorMessage } from '../../lib/permanent-error.js';
import { redact } from '../../lib/redact.js';
import { describeS3Error } from '../../lib/s3-error-description.js';
import { SourceUnavailableError } from '../sources/source-unavailable-error.js';
import type { SourceDefinition } from '../sources/source-definition.js';
import { CollectionLockLostError } from './collection-lock.js';

/** A failed collection as the pipeline shows it: `{ code, message }`, like the API's own errors. */
export interface CollectionFailure {
  code: string;
  message: string;
}

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
    return failure(code, `${where}: ${describeS3Error(error)}`);
  }
  // The SDK's credential chain found nothing: S3 was never asked.
  if (error instanceof Error && error.name === 'CredentialsProviderError') return failure('source_access_denied', `no AWS credentials for the s3 source: ${error.message}`);
  if (error instanceof CollectionLockLostError) return failure('collection_interrupted', error.message);
  if (error instanceof UnrecoverableError) return failure('collection_refused', error.message);
  return failure('collection_failed', errorMessage(error));
}

function failure(code: string, message: string): CollectionFailure {
  return { code, message: capMessage(redact(message)) };
}
