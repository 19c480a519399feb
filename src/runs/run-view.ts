import type { OutputCopy, RunRecord, RunStatus, ShardRecord } from './run-record.js';

/** A run as the HTTP API returns it (PRODUCT.md, "A run"). */
export interface RunView {
  id: string;
  pipeline_id: string | null;
  status: RunStatus;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  endpoint: string;
  model: string | null;
  counts: { items: number; requests: number; succeeded: number; failed: number };
  batches: Array<{
    shard: number;
    generation: number;
    batch_id: string | null;
    input_file_id: string | null;
    status: string | null;
    request_counts: { total: number; completed: number; failed: number } | null;
    output_file_id: string | null;
    error_file_id: string | null;
    /** The shard's batches of earlier generations (its failed requests sent again since), oldest first. */
    previous_batch_ids: string[];
    /** While the shard waits for room under its model's enqueued-token limit: since when (ISO 8601); else null. */
    token_limit_wait_since: string | null;
  }>;
  results_url: string | null;
  errors_url: string | null;
  error: string | null;
  /**
   * The copy to the pipeline's output.url; null when it has none. Its
   * URLs and error are null until the run's results are copied; `error`
   * says why the copy failed, while `status` stays about the requests.
   */
  output: OutputCopy | { url: string; results_url: null; errors_url: null; error: null } | null;
}

/**
 * The visible status of a sharded run follows from its least advanced shard,
 * so it never needs writing by the stages (and cannot disagree with them).
 */
export function deriveRunStatus(run: RunRecord, shards: ShardRecord[]): RunStatus {
  if (run.phase !== 'sharded') return run.phase;
  if (shards.length < (run.shard_count ?? 0)) return 'building';
  const steps = new Set(shards.map((shard) => shard.step));
  if (steps.has('planned') || steps.has('uploaded') || steps.has('creating')) return 'submitting';
  if (steps.has('created')) return 'waiting';
  if (steps.has('terminal')) return 'processing';
  return 'notifying';
}

export function toRunView(run: RunRecord, shards: ShardRecord[]): RunView {
  const requests = shards.reduce((sum, shard) => sum + shard.requests, 0);
  return {
    id: run.id,
    pipeline_id: run.pipeline_id,
    status: deriveRunStatus(run, shards),
    created_at: run.created_at,
    updated_at: run.updated_at,
    finished_at: run.finished_at,
    endpoint: run.endpoint,
    model: run.model,
    counts: {
      items: run.items,
      requests,
      succeeded: shards.reduce((sum, shard) => sum + shard.succeeded, 0),
      failed: run.rejected + shards.reduce((sum, shard) => sum + shard.failed, 0),
    },
    batches: shards.map((shard) => ({
      shard: shard.shard,
      generation: shard.generation,
      batch_id: shard.batch_id,
      input_file_id: shard.input_file_id,
      status: shard.batch_status ?? (shard.step === 'planned' || shard.step === 'uploaded' ? 'pending' : null),
      request_counts: shard.request_counts,
      output_file_id: shard.output_file_id,
      error_file_id: shard.error_file_id,
      previous_batch_ids: shard.previous_batch_ids,
      token_limit_wait_since: tokenLimitWaitSince(shard),
    })),
    results_url: run.results_url,
    errors_url: run.errors_url,
    error: run.error,
    output: run.output_url === null ? null : (run.output_copy ?? { url: run.output_url, results_url: null, errors_url: null, error: null }),
  };
}

/** Only a shard with no batch in flight is waiting: the mark outlives a wait that ended in a running batch. */
function tokenLimitWaitSince(shard: ShardRecord): string | null {
  const waiting = shard.step === 'planned' || shard.step === 'uploaded';
  return waiting && shard.token_wait_since !== null ? new Date(shard.token_wait_since).toISOString() : null;
}
