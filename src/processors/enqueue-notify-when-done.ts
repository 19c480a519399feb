import type { Deps } from '../deps.js';
import { jobIds } from '../queues/job-ids.js';
import { enqueue } from '../queues/stage-queues.js';
import { runReadyToNotify } from '../runs/run-ready-to-notify.js';

/**
 * Enqueues the run's notify job once every shard has its results stored.
 * Called by the last stage of each shard and by the build (a run whose items
 * were all rejected has no shard); the job id makes repeats harmless.
 */
export async function enqueueNotifyWhenDone(deps: Deps, runId: string): Promise<boolean> {
  const run = await deps.ledger.getRun(runId);
  if (run === null || run.phase !== 'sharded') return false;
  if (!runReadyToNotify(run, await deps.ledger.getShards(runId))) return false;
  await enqueue(deps.queues, 'notify', { runId }, { jobId: jobIds.notify({ runId }) });
  return true;
}
