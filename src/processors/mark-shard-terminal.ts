import type { Deps } from '../deps.js';
import { jobIds } from '../queues/job-ids.js';
import { enqueue } from '../queues/stage-queues.js';
import type { ShardRecord, ShardStep } from '../runs/run-record.js';

/**
 * Ends a shard that will get no (further) batch — cancelled before
 * submission, or a submission refused for good — and hands it to the results
 * stage, which writes an error line for each of its requests so the run still
 * accounts for every one.
 */
export async function markShardTerminal(
  deps: Deps,
  ref: { runId: string; shard: number; generation: number },
  fromStep: ShardStep,
  outcome: Pick<ShardRecord, 'batch_status' | 'error'>,
): Promise<void> {
  await deps.ledger.updateShard(ref.runId, ref.shard, { step: [fromStep], generation: [ref.generation] }, { step: 'terminal', ...outcome });
  await enqueue(deps.queues, 'results', ref, { jobId: jobIds.results(ref) });
}
