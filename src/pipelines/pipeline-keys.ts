/**
 * Redis keys of pipelines, beside the run ledger under the deployment's
 * prefix. Kept clear of `<prefix>:collect:*`, which is BullMQ's namespace
 * for the collect queue's jobs.
 */
export const pipelineKeys = {
  /** Hash: pipeline id → stored record (JSON). */
  index: (prefix: string): string => `${prefix}:pipelines`,
  /** Hash: item key → the version last collected. */
  seen: (prefix: string, id: string): string => `${prefix}:pipeline:${id}:seen`,
  /** String: the token of the one collection running for this pipeline. */
  lock: (prefix: string, id: string): string => `${prefix}:pipeline:${id}:collect-lock`,
  /** String: the collection whose run is recorded but whose items are not all marked seen yet. */
  claim: (prefix: string, id: string): string => `${prefix}:pipeline:${id}:collect-claim`,
  /** Hash: the outcome of the pipeline's latest collection, overwritten by each one (`started_us`, `outcome`). */
  lastCollection: (prefix: string, id: string): string => `${prefix}:pipeline:${id}:last-collection`,
};

/** The BullMQ job scheduler that fires a pipeline's collections. */
export const schedulerIdOf = (pipelineId: string): string => `pipeline-${pipelineId}`;
