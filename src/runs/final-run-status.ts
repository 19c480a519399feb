import type { RunRecord, RunStatus, ShardRecord } from './run-record.js';
import type { RunSummary } from './run-summary.js';

/**
 * How a run ends, from its shards and its counted result lines. A cancel
 * makes the run `cancelled` only when it cut something short: some shard's
 * batch ended cancelled (at OpenAI, or before it was submitted). A cancel
 * that came too late, after every batch had finished anyway, leaves the run
 * what its results say, as OpenAI reports such a batch `completed`.
 */
export function finalRunStatus(run: RunRecord, shards: readonly ShardRecord[], summary: RunSummary): RunStatus {
  if (run.cancel_requested && shards.some((shard) => shard.batch_status === 'cancelled')) return 'cancelled';
  if (summary.succeeded === 0) return 'failed';
  return summary.failed > 0 ? 'partial' : 'succeeded';
}
