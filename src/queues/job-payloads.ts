import { z } from 'zod';
import type { QueueName } from './queue-names.js';

/**
 * Job data is ids and pointers only — never items, JSONL or results — so it
 * stays small in Redis and readable in Bull Board. One schema per queue is the
 * single source of truth for both the runtime check and the TypeScript type.
 */
const runId = z.string().regex(/^run_[A-Za-z0-9]+$/);
const shardRef = z.strictObject({ runId, shard: z.number().int().min(0), generation: z.number().int().min(0) });

export const jobPayloadSchemas = {
  collect: z.strictObject({ pipelineId: z.string().min(1), trigger: z.enum(['schedule', 'manual']).default('schedule') }),
  build: z.strictObject({ runId }),
  submit: shardRef,
  poll: shardRef.extend({ batchId: z.string().min(1), checks: z.number().int().min(0).default(0) }),
  results: shardRef,
  notify: z.strictObject({ runId }),
} satisfies Record<QueueName, z.ZodType>;

export type JobPayloads = { [Name in QueueName]: z.infer<(typeof jobPayloadSchemas)[Name]> };
export type JobPayloadInput<Name extends QueueName> = z.input<(typeof jobPayloadSchemas)[Name]>;
