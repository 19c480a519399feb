import { Job, type Worker } from 'bullmq';
import type { StageQueues } from './queues/stage-queues.js';
import type { Logger } from './lib/logger.js';

// Promise<unknown>: a job's return value (collect's outcome) passes through to BullMQ.
type Processor = (job: Job, token?: string) => Promise<unknown>;

/**
 * After a processor returns, how long to wait for BullMQ to say it recorded
 * the outcome (moveToCompleted / moveToFailed). Milliseconds normally; the
 * bound covers a write that failed (a lost lock) and so announces nothing.
 */
const RECORD_WAIT_MS = 5_000;

/** Errors a processor throws to say "moved already" (poll's moveToDelayed): BullMQ writes nothing more for them. */
const MOVED_ERRORS = new Set(['DelayedError', 'WaitingError', 'WaitingChildrenError']);

interface RunningJob {
  job: Job;
  token: string | undefined;
  /** The processor is still working (a job past this point can no longer be handed back). */
  processing: boolean;
  /** Resolves once the job's outcome is in Redis (or cannot be waited for any longer). */
  done: Promise<void>;
}

const keyOf = (job: Job): string => `${job.queueName}\u0000${job.id ?? ''}`;

/**
 * The jobs this process is running, with the lock token each was taken
 * with: what a shutdown waits for, or hands back. A job counts until BullMQ
 * has recorded its outcome, not merely until its processor returns: closing
 * the connections in between would drop that write and leave the job to
 * stall.
 */
export class ActiveJobs {
  private readonly running = new Set<RunningJob>();
  private readonly recorded = new Map<string, () => void>();

  /** Hears from a worker when BullMQ has written a job's outcome. */
  watch(worker: Worker): void {
    const onRecorded = (job: Job | undefined): void => {
      if (job !== undefined) this.recorded.get(keyOf(job))?.();
    };
    worker.on('completed', onRecorded);
    worker.on('failed', onRecorded);
  }

  /** Wraps a processor so every job it runs is known here until its outcome is recorded. */
  track(processor: Processor): Processor {
    return async (job, token) => {
      const key = keyOf(job);
      let timer: NodeJS.Timeout | undefined;
      const written = new Promise<void>((resolve) => {
        this.recorded.set(key, resolve);
      });
      const work = processor(job, token);
      const untilRecorded = (): Promise<void> =>
        Promise.race([written, new Promise<void>((resolve) => (timer = setTimeout(resolve, RECORD_WAIT_MS)))]);
      const entry: RunningJob = {
        job,
        token,
        processing: true,
        done: work
          .then(untilRecorded, (error: unknown) => (error instanceof Error && MOVED_ERRORS.has(error.name) ? undefined : untilRecorded()))
          .finally(() => {
            clearTimeout(timer);
            this.recorded.delete(key);
            this.running.delete(entry);
          }),
      };
      this.running.add(entry);
      try {
        return await work;
      } finally {
        entry.processing = false;
      }
    };
  }

  get size(): number {
    return this.running.size;
  }

  /** Jobs whose processors are still working. */
  processing(): RunningJob[] {
    return [...this.running].filter((entry) => entry.processing);
  }

  /** Resolves once every job known now (and any taken meanwhile) is recorded. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running].map((entry) => entry.done));
  }
}

/**
 * Stops taking jobs, gives running ones `graceMs` to finish, then moves any
 * still running back to their queue's wait list (lock released, no attempt
 * spent), where another worker picks them up at once. Every stage re-runs
 * safely from the ledger, so a handed-back job loses nothing but time.
 * Without this, a job cut off by SIGKILL waits for its lock to lapse, and
 * counts as stalled.
 */
export async function closeWorkersGracefully(workers: readonly Worker[], active: ActiveJobs, graceMs: number, logger: Logger, queues: StageQueues): Promise<void> {
  // pause(true): stop fetching without waiting here; the wait below is bounded.
  await Promise.all(workers.map((worker) => worker.pause(true)));
  if (active.size > 0) logger.info({ jobs: active.size, grace_ms: graceMs }, 'waiting for running jobs to finish');
  let timer: NodeJS.Timeout | undefined;
  const finished = await Promise.race([
    active.settled().then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  const unfinished = finished ? [] : [...active.processing()];
  // Always forced: every outcome this process will write is written (or about to be handed back) by
  // now, and an unforced close can hang while BullMQ's blocking connection is still reconnecting after
  // a Redis restart. Closed before the hand-back: a paused worker blocked waiting for a job still takes
  // the next one when it wakes, and that would be the job just handed back, taken again by a process
  // about to exit. Closing keeps the jobs' locks, so their tokens still hand them back.
  await Promise.all(workers.map((worker) => worker.close(true)));
  for (const { job, token } of unfinished) {
    try {
      // Through the service's own queue connection: the worker's is closed.
      const queue = Object.values(queues).find((candidate) => candidate.name === job.queueName);
      const current = queue === undefined || job.id === undefined ? undefined : await Job.fromId(queue, job.id);
      if (current === undefined) throw new Error('the job is no longer in its queue');
      await current.moveToWait(token);
      logger.warn({ queue: job.queueName, job_id: job.id }, 'job handed back to its queue at shutdown');
    } catch (error) {
      // It ended, or lost its lock, in the meantime: either way it is no longer ours to hand back.
      logger.warn({ queue: job.queueName, job_id: job.id, err: error instanceof Error ? error.message : String(error) }, 'job could not be handed back');
    }
  }
  // Handed-back jobs' processors may still be running; their outcome no longer counts.
}
