import type { DefaultJobOptions } from 'bullmq';
import type { QueueName } from './queue-names.js';

/**
 * Retries use exponential backoff with jitter so many workers retrying the
 * same outage do not hit OpenAI in lockstep. Finished jobs are kept for a
 * while for Bull Board, then trimmed so Redis does not grow with history.
 */
const retrying = (attempts: number, delayMs: number): DefaultJobOptions => ({
  attempts,
  backoff: { type: 'exponential', delay: delayMs, jitter: 0.5 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
});

export const defaultJobOptions: Record<QueueName, DefaultJobOptions> = {
  collect: retrying(5, 5_000),
  build: retrying(5, 2_000),
  submit: retrying(8, 2_000),
  // The poll job reschedules itself with moveToDelayed + DelayedError, which
  // does not consume attempts; attempts here only cover real errors.
  poll: retrying(10, 5_000),
  results: retrying(8, 2_000),
  notify: retrying(5, 2_000),
};

/** Per-queue worker concurrency: I/O-bound stages run several jobs at once. */
export const defaultConcurrency: Record<QueueName, number> = {
  collect: 1,
  build: 2,
  submit: 4,
  poll: 50,
  results: 2,
  notify: 4,
};
