import { UnrecoverableError, type Job } from 'bullmq';
import { jobPayloadSchemas, type JobPayloads } from '../queues/job-payloads.js';
import type { QueueName } from '../queues/queue-names.js';

/** A stage's processor; `Result` is the job's return value (collect returns what it collected, the others nothing). */
export type StageProcessor<Name extends QueueName, Result = void> = (job: Job<JobPayloads[Name]>, token?: string) => Promise<Result>;

/** One processor per queue; a queue without one is a compile error. */
export type StageProcessors = { [Name in QueueName]: StageProcessor<Name, unknown> };

/** A payload that fails its schema will never succeed: fail it without retries. */
export function parsePayload<Name extends QueueName>(name: Name, data: unknown): JobPayloads[Name] {
  const parsed = jobPayloadSchemas[name].safeParse(data);
  if (!parsed.success) throw new UnrecoverableError(`invalid ${name} job payload: ${parsed.error.message}`);
  return parsed.data as JobPayloads[Name];
}
