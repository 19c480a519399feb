import type { Job, Worker } from 'bullmq';
import type { Logger } from './lib/logger.js';

// Promise<unknown>: a job's return value (collect's outcome) passes through to BullMQ.
type Processor = (job: Job, token?: string) => Promise<unknown>;

/** Long enough for the last jobs' completion to reach Redis, short enough not to hold a shutdown up. */
const FINAL_CLOSE_MS = 3_000;

interface RunningJob {
  job: Job;
  token: string | undefined;
  settled: Promise<void>;
}

/**
 * The jobs this process is running right now, with the lock token each was
 * taken with: what a shutdown needs to wait for, or to hand back.
 */
export class ActiveJobs {
  private readonly running = new Set<RunningJob>();

  /** Wraps a processor so every job it runs is known here until it ends. */
  track(processor: Processor): Processor {
    return async (job, token) => {
      const work = processor(job, token);
      const entry: RunningJob = { job, token, settled: work.then(() => undefined, () => undefined) };
      this.running.add(entry);
      try {
        return await work;
      } finally {
        this.running.delete(entry);
      }
    };
  }

  get size(): number {
    return this.running.size;
  }

  list(): RunningJob[] {
    return [...this.running];
  }

  /** Resolves once every job running now has ended. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running].map((entry) => entry.settled));
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
export async function closeWorkersGracefully(workers: readonly Worker[], active: ActiveJobs, graceMs: number, logger: Logger): Promise<void> {
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
  if (!finished) {
    for (const { job, token } of active.list()) {
      try {
        await job.moveToWait(token);
        logger.warn({ queue: job.queueName, job_id: job.id }, 'job handed back to its queue at shutdown');
      } catch (error) {
        // It ended, or lost its lock, in the meantime: either way it is no longer ours to hand back.
        logger.warn({ queue: job.queueName, job_id: job.id, err: error instanceof Error ? error.message : String(error) }, 'job could not be handed back');
      }
    }
  }
  if (!finished) {
    // Handed-back jobs' processors may still be running here; their outcome no longer counts.
    await Promise.all(workers.map((worker) => worker.close(true)));
    return;
  }
  // A job whose processor has returned may still be on its way to `completed` (BullMQ's
  // moveToFinished): a forced close drops that command and leaves the job to stall. So close
  // gently, but not for long: an unforced close can hang while BullMQ's blocking connection is
  // still reconnecting after a Redis restart.
  const closing = Promise.all(workers.map((worker) => worker.close()));
  let closeTimer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    closing.then(() => true, () => true),
    new Promise<boolean>((resolve) => {
      closeTimer = setTimeout(() => resolve(false), FINAL_CLOSE_MS);
    }),
  ]);
  clearTimeout(closeTimer);
  if (!closed) {
    logger.warn({ waited_ms: FINAL_CLOSE_MS }, 'workers did not close in time: disconnecting');
    await Promise.all(workers.map((worker) => worker.disconnect().catch(() => undefined)));
  }
}
