import { Worker, type Job } from 'bullmq';
import type { Deps } from './deps.js';
import { createProcessors } from './processors/create-processors.js';
import { defaultConcurrency, keptJobs, stageBackoffStrategy } from './queues/queue-options.js';
import { QUEUE_NAMES, type QueueName } from './queues/queue-names.js';
import { workerConnection } from './queues/redis-connection.js';
import { ActiveJobs, closeWorkersGracefully } from './worker-shutdown.js';

export interface WorkerOptions {
  concurrency?: Partial<Record<QueueName, number>>;
  /** Cap on batch status checks per second across every worker process (BullMQ's global rate limiter); BATCHLINE_POLLS_PER_SECOND when unset. */
  pollsPerSecond?: number;
  queues?: readonly QueueName[];
  /** Wraps each stage's processor (tracing, or tests that run every job twice to prove re-runs are safe). */
  wrapProcessor?: (name: QueueName, processor: (job: Job, token?: string) => Promise<void>) => (job: Job, token?: string) => Promise<void>;
}

export interface RunningWorkers {
  workers: Worker[];
  /** Stops taking jobs and waits for running ones to finish (or hands them back when the grace period ends). */
  close(): Promise<void>;
}

export function startWorkers(deps: Deps, options: WorkerOptions = {}): RunningWorkers {
  const processors = createProcessors(deps);
  const names = options.queues ?? deps.config.BATCHLINE_QUEUES ?? QUEUE_NAMES;
  const active = new ActiveJobs();
  const workers = names.map((name) => {
    const stage = processors[name] as (job: Job, token?: string) => Promise<void>;
    const processor = active.track(options.wrapProcessor?.(name, stage) ?? stage);
    const worker = new Worker(name, processor, {
      connection: workerConnection(deps.config.REDIS_URL),
      prefix: deps.config.BATCHLINE_PREFIX,
      concurrency: options.concurrency?.[name] ?? deps.config.BATCHLINE_CONCURRENCY[name] ?? defaultConcurrency[name],
      // A dead worker's jobs go back to the queue once its lock lapses and a stalled check sees it.
      lockDuration: deps.config.BATCHLINE_JOB_LOCK_MS,
      stalledInterval: deps.config.BATCHLINE_JOB_LOCK_MS,
      // Retry delays and history trimming live here rather than in each job's stored options (see queue-options.ts).
      settings: { backoffStrategy: stageBackoffStrategy(name) },
      ...keptJobs,
      ...(name === 'poll' ? { limiter: { max: options.pollsPerSecond ?? deps.config.BATCHLINE_POLLS_PER_SECOND, duration: 1000 } } : {}),
    });
    worker.on('failed', (job, error) => {
      deps.logger.warn({ queue: name, job_id: job?.id, attempts: job?.attemptsMade, err: error.message }, 'job attempt failed');
    });
    // A lost connection is an outage of the whole process, logged once (not per reconnect attempt); other errors stand alone.
    deps.redisOutages.watch(worker, `worker:${name}`, (error) => deps.logger.error({ queue: name, err: error.message }, 'worker error'));
    active.watch(worker);
    return worker;
  });
  return {
    workers,
    async close() {
      await closeWorkersGracefully(workers, active, deps.config.BATCHLINE_SHUTDOWN_GRACE_MS, deps.logger, deps.queues);
    },
  };
}
