import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from './queue-names.js';
import { jobPayloadSchemas, type JobPayloadInput } from './job-payloads.js';
import { defaultJobOptions } from './queue-options.js';

export type StageQueues = { readonly [Name in QueueName]: Queue };

export function createStageQueues(connection: ConnectionOptions, prefix: string): StageQueues {
  const entries = QUEUE_NAMES.map((name) => [name, new Queue(name, { connection, prefix, defaultJobOptions: defaultJobOptions[name] })] as const);
  return Object.fromEntries(entries) as unknown as StageQueues;
}

/** Adds a job after checking its payload against the queue's schema (a bad payload is a bug here, not later in a worker). */
export async function enqueue<Name extends QueueName>(
  queues: StageQueues,
  name: Name,
  payload: JobPayloadInput<Name>,
  options: JobsOptions & { jobId: string },
): Promise<void> {
  const data = jobPayloadSchemas[name].parse(payload);
  await queues[name].add(name, data, options);
}

export async function closeStageQueues(queues: StageQueues): Promise<void> {
  await Promise.all(
    QUEUE_NAMES.map(async (name) => {
      try {
        await queues[name].close();
      } catch {
        // A producer connection that is still reconnecting cannot QUIT (no offline queue); drop it instead.
        await queues[name].disconnect().catch(() => undefined);
      }
    }),
  );
}
