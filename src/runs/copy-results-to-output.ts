import type { Deps } from '../deps.js';
import { createStorage } from '../storage/create-storage.js';
import type { RunRecord } from './run-record.js';
import { storageKeys } from './storage-keys.js';

/** Where a run's copy goes under the pipeline's output.url: `<pipeline id>/<run id>/`. */
export const outputKeys = (run: Pick<RunRecord, 'id' | 'pipeline_id'>) => {
  const folder = `${run.pipeline_id ?? 'runs'}/${run.id}`;
  return { results: `${folder}/results.ndjson`, errors: `${folder}/errors.ndjson` };
};

/**
 * Copies a finished run's results.ndjson and errors.ndjson to its
 * pipeline's output.url (file:// or s3://), streamed. The keys are
 * deterministic, so a repeated notify job rewrites the same objects.
 * Returns the URLs written, or null when the run has no output.
 */
export async function copyResultsToOutput(deps: Deps, run: RunRecord): Promise<string[] | null> {
  if (run.output_url === null) return null;
  const output = createStorage(run.output_url, deps.s3);
  const keys = outputKeys(run);
  const copies: Array<[from: string, to: string]> = [
    [storageKeys.runResults(run.id), keys.results],
    [storageKeys.runErrors(run.id), keys.errors],
  ];
  for (const [from, to] of copies) await output.put(to, await deps.storage.get(from));
  return copies.map(([, to]) => output.urlOf(to));
}
