import { z } from 'zod';
import { PIPELINE_ID, PIPELINE_ID_MESSAGE } from '../pipelines/pipeline-definition.js';
import { RUN_STATUSES } from '../runs/run-record.js';
import { BATCH_ENDPOINTS } from '../lib/batch-limits.js';
import { NDJSON } from './content-types.js';

export const runViewSchema = z
  .object({
    id: z.string(),
    pipeline_id: z.string().nullable(),
    status: z.enum(RUN_STATUSES),
    created_at: z.string(),
    updated_at: z.string(),
    finished_at: z.string().nullable(),
    endpoint: z.string(),
    model: z.string().nullable(),
    counts: z.object({ items: z.number(), requests: z.number(), succeeded: z.number(), failed: z.number() }),
    batches: z.array(
      z.object({
        shard: z.number(),
        generation: z.number(),
        batch_id: z.string().nullable(),
        input_file_id: z.string().nullable(),
        status: z.string().nullable(),
        request_counts: z.object({ total: z.number(), completed: z.number(), failed: z.number() }).nullable(),
        output_file_id: z.string().nullable(),
        error_file_id: z.string().nullable(),
        previous_batch_ids: z.array(z.string()),
        token_limit_wait_since: z.string().nullable().describe("set while the shard waits for room under its model's enqueued-token limit: since when"),
      }),
    ),
    results_url: z.string().nullable(),
    errors_url: z.string().nullable(),
    error: z.string().nullable(),
    output: z
      .object({
        url: z.string().describe("the pipeline's output.url"),
        results_url: z.string().nullable().describe('the copy of the results; null until copied, or when the copy failed'),
        errors_url: z.string().nullable().describe('the copy of the errors; null until copied, or when the copy failed'),
        error: z.string().nullable().describe('why the copy failed for good (the run\'s status still says how its requests went); null otherwise'),
      })
      .nullable()
      .describe("the copy of the results to the pipeline's output.url; null when it has none"),
  })
  .describe('Run');

/** A run id as newRunId makes it. */
const runIdSchema = z.string().regex(/^run_[A-Za-z0-9]+$/, 'not a run id');

export const runIdParamsSchema = z.strictObject({ id: runIdSchema });

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;
/**
 * Plain digits only: a number coercion took `1e1` (10), ` 5` and `0x10`, so a
 * typo could still list something, and a blank `limit=` read as 0.
 */
const LIMIT_MESSAGE = `must be a whole number from 1 to ${MAX_LIST_LIMIT} in plain digits (leave it out or blank for ${DEFAULT_LIST_LIMIT})`;

/** Blank (`status=`) is what a form or a script with an empty variable sends: it means the parameter is absent, on every parameter. */
const blankAsAbsent = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

export const listRunsQuerySchema = z.strictObject({
  pipeline: blankAsAbsent(z.string().regex(PIPELINE_ID, PIPELINE_ID_MESSAGE)),
  status: blankAsAbsent(z.enum(RUN_STATUSES)),
  limit: z
    .string()
    .regex(/^[0-9]*$/, LIMIT_MESSAGE)
    .optional()
    // Blank means absent here too; kept as text so the default is filled in below.
    .transform((text) => (text === undefined || text === '' ? DEFAULT_LIST_LIMIT : Number(text)))
    .pipe(z.number().int().min(1, LIMIT_MESSAGE).max(MAX_LIST_LIMIT, LIMIT_MESSAGE))
    .describe(`runs per page, 1-${MAX_LIST_LIMIT} in plain digits; ${DEFAULT_LIST_LIMIT} when absent or blank`),
  before: blankAsAbsent(runIdSchema).describe('next_before of the previous page: the runs listed after that run (older than it)'),
});

export const ndjsonRunQuerySchema = z.strictObject({
  endpoint: blankAsAbsent(z.enum(BATCH_ENDPOINTS)).describe(`the endpoint of every request line: required with ${NDJSON}, refused with a JSON body (which names its endpoint itself)`),
});
