import type { Deps } from '../deps.js';
import { ApiError, notFound } from '../lib/api-error.js';
import { isTerminalBatchStatus } from '../lib/batch-limits.js';
import { errorMessage } from '../lib/permanent-error.js';
import { jobIds } from '../queues/job-ids.js';
import { FINAL_RUN_STATUSES, type RunStatus } from './run-record.js';
import { promoteIfDelayed } from './wake-for-cancel.js';

/**
 * Cancels what of a run is not finished: batches still running are
 * cancelled at OpenAI (their partial results are kept), shards not yet
 * submitted never will be, and the poll jobs are woken so the run settles
 * without waiting for the next scheduled check. So are the submit jobs of
 * shards waiting for token room (or any other delayed submission): their
 * own submit job sees the cancel and settles them, so a submission running
 * at that moment and the cancel never both act on a shard.
 */
export async function cancelRun(deps: Deps, runId: string): Promise<void> {
  const run = await deps.ledger.getRun(runId);
  if (run === null) throw notFound('run', runId);
  if (FINAL_RUN_STATUSES.includes(run.phase as RunStatus)) throw new ApiError('run_finished', `run ${runId} already ended ${run.phase}`);
  await deps.ledger.updateRun(runId, { cancel_requested: true });
  for (const shard of await deps.ledger.getShards(runId)) {
    if (shard.step === 'planned' || shard.step === 'uploaded') {
      await promoteIfDelayed(await deps.queues.submit.getJob(jobIds.submit({ runId, shard: shard.shard, generation: shard.generation })));
      continue;
    }
    if (shard.step !== 'created' || shard.batch_id === null) continue;
    if (shard.batch_status !== null && (isTerminalBatchStatus(shard.batch_status) || shard.batch_status === 'cancelling')) continue;
    try {
      await deps.openai.batches.cancel(shard.batch_id);
    } catch (error) {
      // The poll job retries the cancel on its next check; the request still stands.
      deps.logger.warn({ run_id: runId, batch_id: shard.batch_id, err: errorMessage(error) }, 'batch cancel failed; will retry on the next check');
    }
    await promoteIfDelayed(await deps.queues.poll.getJob(jobIds.poll({ runId, shard: shard.shard, generation: shard.generation, batchId: shard.batch_id })));
  }
}

