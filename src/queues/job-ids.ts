import type { JobPayloads } from './job-payloads.js';

/**
 * Deterministic job ids: adding the same stage for the same run/shard twice
 * is a no-op in BullMQ while the first job exists, which makes every
 * "enqueue the next stage" safe to repeat after a crash. Ids may not contain
 * ':' nor be all digits.
 */
const shardSuffix = (ref: { runId: string; shard: number; generation: number }): string =>
  `${ref.runId}-s${ref.shard}-g${ref.generation}`;

export const jobIds = {
  build: (payload: JobPayloads['build']): string => `build-${payload.runId}`,
  submit: (payload: JobPayloads['submit']): string => `submit-${shardSuffix(payload)}`,
  poll: (payload: Pick<JobPayloads['poll'], 'runId' | 'shard' | 'generation' | 'batchId'>): string =>
    `poll-${shardSuffix(payload)}-${payload.batchId}`,
  results: (payload: JobPayloads['results']): string => `results-${shardSuffix(payload)}`,
  notify: (payload: JobPayloads['notify']): string => `notify-${payload.runId}`,
  collect: (payload: { pipelineId: string }, at: number): string => `collect-${payload.pipelineId}-${at}`,
};
