import { S3ServiceException } from '@aws-sdk/client-s3';
import type { Deps } from '../deps.js';
import { capMessage } from '../lib/cap-message.js';
import { errorCode } from '../lib/error-code.js';
import { errorMessage, isPermanentError } from '../lib/permanent-error.js';
import { redact } from '../lib/redact.js';
import { describeS3Error } from '../lib/s3-error-description.js';
import { createStorage } from '../storage/create-storage.js';
import type { OutputCopy, RunRecord } from './run-record.js';
import { storageKeys } from './storage-keys.js';

/** Where a run's copy goes under the pipeline's output.url: `<pipeline id>/<run id>/`. */
export const outputKeys = (run: Pick<RunRecord, 'id' | 'pipeline_id'>) => {
  const folder = `${run.pipeline_id ?? 'runs'}/${run.id}`;
  return { results: `${folder}/results.ndjson`, errors: `${folder}/errors.ndjson` };
};

/**
 * Local file errors that a retry cannot mend: no permission, a read-only
 * file system, a file where a folder should be.
 */
const PERMANENT_FILE_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EEXIST']);

/**
 * True when copying to the output again would fail the same way: S3's 4xx
 * answers (NoSuchBucket, AccessDenied…) other than 408/409/429, a local
 * folder the worker may not write, an output.url that cannot be read.
 * Everything else (5xx, timeouts, resets) is worth another attempt.
 */
export function isPermanentOutputFailure(error: unknown): boolean {
  if (error instanceof OutputUrlError || isPermanentError(error)) return true;
  const code = errorCode(error);
  return code !== undefined && PERMANENT_FILE_ERRORS.has(code);
}

/** The output.url itself is not a storage URL (a definition stored before it was checked). */
class OutputUrlError extends Error {}

/**
 * One line for the run view and Slack: what the output answered, without
 * credentials, and bounded, as it is stored in the run's hash.
 */
export function describeOutputFailure(error: unknown): string {
  return capMessage(redact(error instanceof S3ServiceException ? describeS3Error(error) : errorMessage(error)));
}

/**
 * Copies a finished run's results.ndjson and errors.ndjson to its
 * pipeline's output.url (file:// or s3://), streamed. The keys are
 * deterministic, so a repeated notify job rewrites the same objects.
 * Returns the URLs written, or null when the run has no output.
 */
export async function copyResultsToOutput(deps: Deps, run: RunRecord): Promise<Extract<OutputCopy, { error: null }> | null> {
  if (run.output_url === null) return null;
  let output;
  try {
    output = createStorage(run.output_url, deps.s3);
  } catch (error) {
    throw new OutputUrlError(errorMessage(error));
  }
  const keys = outputKeys(run);
  await output.put(keys.results, await deps.storage.get(storageKeys.runResults(run.id)));
  await output.put(keys.errors, await deps.storage.get(storageKeys.runErrors(run.id)));
  return { url: run.output_url, results_url: output.urlOf(keys.results), errors_url: output.urlOf(keys.errors), error: null };
}
