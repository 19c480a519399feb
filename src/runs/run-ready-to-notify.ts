import type { RunRecord, ShardRecord } from './run-record.js';

/**
 * True when a run can be announced: it is still `sharded` (not settled, not
 * cancelled before sharding) and every one of its shards has its results
 * stored. The notify job is enqueued and runs only then.
 */
export function runReadyToNotify(run: RunRecord | null, shards: readonly ShardRecord[]): run is RunRecord {
  if (run === null || run.phase !== 'sharded' || run.shard_count === null) return false;
  return shards.length >= run.shard_count && shards.every((shard) => shard.step === 'stored');
}
