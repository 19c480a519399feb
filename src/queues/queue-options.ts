import type { BackoffStrategy, DefaultJobOptions, KeepJobs } from 'bullmq';
import type { QueueName } from './queue-names.js';

/**
 * BullMQ stores a job's options (its own merged over the queue's defaults)
 * as JSON in the job's hash, and that hash lives as long as the job: for a
 * poll job, as long as its batch runs. So each job carries only what must be
 * per job (its attempts and the name of its backoff); how long to wait and
 * how long to keep finished jobs are the workers' settings instead
 * (stageBackoffStrategy, keptJobs), which BullMQ applies to every job that
 * does not say otherwise. Jobs stored with the longer forms still work: a
 * built-in backoff type never reaches the custom strategy.
 */
export const STAGE_BACKOFF = 'stage';

const retrying = (attempts: number): DefaultJobOptions => ({ attempts, backoff: { type: STAGE_BACKOFF } });

export const defaultJobOptions: Record<QueueName, DefaultJobOptions> = {
  collect: retrying(5),
  build: retrying(5),
  submit: retrying(8),
  // The poll job reschedules itself with moveToDelayed + DelayedError, which
  // does not consume attempts; attempts here only cover real errors.
  poll: retrying(10),
  results: retrying(8),
  notify: retrying(5),
};

/** First retry delay per queue; each further retry doubles it. */
const retryDelayMs: Record<QueueName, number> = {
  collect: 5_000,
  build: 2_000,
  submit: 2_000,
  poll: 5_000,
  results: 2_000,
  notify: 2_000,
};

/**
 * Exponential backoff with jitter (as BullMQ's built-in `exponential` with
 * `jitter: 0.5`), so many workers retrying the same outage do not hit OpenAI
 * in lockstep. A worker's `settings.backoffStrategy` for the queue it serves.
 */
export const stageBackoffStrategy =
  (name: QueueName, random: () => number = Math.random): BackoffStrategy =>
  (attemptsMade) => {
    const maxDelay = Math.round(2 ** (attemptsMade - 1) * retryDelayMs[name]);
    const jitter = 0.5;
    return Math.floor(random() * maxDelay * jitter + maxDelay * (1 - jitter));
  };

/** Finished jobs are kept a while for Bull Board, then trimmed so Redis does not grow with history. */
export const keptJobs: { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } = {
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 5000 },
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
