/**
 * Metadata written on every batch the service creates. OpenAI has no
 * idempotency key, so these are how a submission that lost its response
 * finds the batch it already created.
 */
export const batchMetadata = (
  ref: { runId: string; shard: number; generation: number },
  pipelineId: string | null,
  callerMetadata: Record<string, string> | null = null,
): Record<string, string> => ({
  ...callerMetadata,
  batchline_run: ref.runId,
  batchline_shard: String(ref.shard),
  batchline_generation: String(ref.generation),
  ...(pipelineId === null ? {} : { batchline_pipeline: pipelineId.slice(0, 512) }),
});

export const matchesShard = (
  metadata: Record<string, string> | null | undefined,
  ref: { runId: string; shard: number; generation: number },
): boolean =>
  metadata?.['batchline_run'] === ref.runId &&
  metadata['batchline_shard'] === String(ref.shard) &&
  metadata['batchline_generation'] === String(ref.generation);

/** Keys of the caller's metadata may not collide with these, and leave room for them within OpenAI's 16 pairs. */
export const RESERVED_METADATA_PREFIX = 'batchline_';
export const RESERVED_METADATA_PAIRS = 4;
