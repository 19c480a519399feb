import type { SourceDefinition } from '../pipelines/sources/source-definition.js';
import type { TemplateDefinition } from '../pipelines/templates/template-definition.js';

/** Where a run is, as the API shows it (PRODUCT.md). */
export const RUN_STATUSES = [
  'queued', 'collecting', 'building', 'submitting', 'waiting', 'processing', 'notifying',
  'succeeded', 'partial', 'failed', 'cancelled',
] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINAL_RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'partial', 'failed', 'cancelled'];

/**
 * What the run record itself stores. Once a run is sharded its visible status
 * is derived from its shards' steps (no second copy to keep in step); the
 * phase only says what the shards cannot: before sharding, and the final word.
 */
export type RunPhase = 'queued' | 'collecting' | 'building' | 'sharded' | 'succeeded' | 'partial' | 'failed' | 'cancelled';

export interface RunRecord {
  id: string;
  pipeline_id: string | null;
  phase: RunPhase;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** `items`: template + items (POSTed or collected); `requests`: raw batch request lines. */
  input_kind: 'items' | 'requests';
  endpoint: string;
  model: string | null;
  template: TemplateDefinition | null;
  /** Items (or request lines) the run was given; known at creation. */
  items: number;
  /** Items the template could not turn into a request (not an image, too large…): each has an error result line. */
  rejected: number;
  shard_count: number | null;
  cancel_requested: boolean;
  error: string | null;
  results_url: string | null;
  errors_url: string | null;
  /** The pipeline source a collected run reads its items' bytes from; null for POSTed items. */
  source: SourceDefinition | null;
  /** Per-pipeline Slack destination; null means the service default. */
  slack_webhook_url: string | null;
  /** The caller's own batch metadata, added to every batch of the run beside batchline's keys. */
  metadata: Record<string, string> | null;
  /** Where the pipeline wants a copy of the results (a storage URL), if anywhere. */
  output_url: string | null;
  /**
   * What became of that copy once the run's results were assembled (absent
   * until then, and for runs without output_url). Apart from the status,
   * which is about the run's requests: a run can succeed and its copy fail.
   */
  output_copy?: OutputCopy;
}

/** The copy of a run's results to its pipeline's output.url: where it went, or why it failed for good. */
export type OutputCopy =
  | { url: string; results_url: string; errors_url: string; error: null }
  | { url: string; results_url: null; errors_url: null; error: string };

/** A shard's step in the ledger; each moves forward only, by compare-and-set. */
export const SHARD_STEPS = ['planned', 'uploaded', 'creating', 'created', 'terminal', 'stored'] as const;
export type ShardStep = (typeof SHARD_STEPS)[number];

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

export interface ShardRecord {
  shard: number;
  generation: number;
  step: ShardStep;
  model: string | null;
  requests: number;
  bytes: number;
  estimated_tokens: number;
  input_file_id: string | null;
  batch_id: string | null;
  /** When the `creating` step was entered (ms): bounds the reconciliation listing. */
  creating_since: number | null;
  batch_status: string | null;
  request_counts: RequestCounts | null;
  output_file_id: string | null;
  error_file_id: string | null;
  expires_at: number | null;
  /** A batch-level failure (validation errors, a submission refused for good). */
  error: { code: string; message: string } | null;
  /** Final outcomes of this shard's requests, known once results are stored. */
  succeeded: number;
  failed: number;
  /** Batches of earlier generations of this shard (kept for the record). */
  previous_batch_ids: string[];
  /** Generations made to retry failed requests: a request in this generation has been sent this many times before. */
  retry_generations: number;
  /** Generations made to wait out token_limit_exceeded (they do not count as attempts of the requests). */
  token_waits: number;
  /**
   * When the shard began waiting for room under its model's enqueued-token
   * limit (ms), kept across token_limit_exceeded resubmissions so the whole
   * wait is bounded; null once a generation goes round for another reason.
   */
  token_wait_since: number | null;
  /**
   * The current batch was created while no other batch of this service held
   * any of the model's enqueued-token budget: a token_limit_exceeded then
   * speaks of the shard's own size (or of users outside this service).
   */
  created_alone: boolean;
  /**
   * The model's enqueued-token limit a batch of this shard, created alone,
   * was refused under, when the shard's estimate is over it too: no wait can
   * make room, so the next submission ends the shard; null otherwise.
   */
  over_token_limit: number | null;
  /** A batch of this shard already failed validation and the unnamed lines were resubmitted once. */
  validation_retried: boolean;
}

/** What a shard knows of its current batch: nothing yet, at the start of every generation. */
export const NO_BATCH_YET = {
  step: 'planned',
  input_file_id: null,
  batch_id: null,
  creating_since: null,
  batch_status: null,
  request_counts: null,
  output_file_id: null,
  error_file_id: null,
  expires_at: null,
  error: null,
  created_alone: false,
} as const satisfies Partial<ShardRecord>;

/** What a new shard holds besides its number, model and sizes (a new object each time: it holds a list). */
export const newShardState = (): Omit<ShardRecord, 'shard' | 'model' | 'requests' | 'bytes' | 'estimated_tokens'> => ({
  ...NO_BATCH_YET,
  generation: 0,
  succeeded: 0,
  failed: 0,
  previous_batch_ids: [],
  retry_generations: 0,
  token_waits: 0,
  token_wait_since: null,
  over_token_limit: null,
  validation_retried: false,
});

export const newShardRecord = (fields: Pick<ShardRecord, 'shard' | 'model' | 'requests' | 'bytes' | 'estimated_tokens'>): ShardRecord => ({
  ...fields,
  ...newShardState(),
});
