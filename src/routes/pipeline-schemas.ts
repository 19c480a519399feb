import { z } from 'zod';
import { lastCollectionSchema } from '../pipelines/collection/last-collection.js';
import { PIPELINE_ID, PIPELINE_ID_MESSAGE } from '../pipelines/pipeline-definition.js';
import { sourceDefinitionSchema } from '../pipelines/sources/source-definition.js';
import { templateDefinitionSchema } from '../pipelines/templates/template-definition.js';

export const pipelineIdParamsSchema = z.strictObject({ id: z.string().regex(PIPELINE_ID, PIPELINE_ID_MESSAGE) });

export const pipelineViewSchema = z
  .object({
    id: z.string(),
    schedule: z.object({ cron: z.string().optional(), tz: z.string().optional(), every: z.string().optional() }).nullable(),
    source: sourceDefinitionSchema.nullable(),
    template: templateDefinitionSchema,
    output: z.object({ url: z.string() }).nullable(),
    notify: z.object({ slack_webhook_url: z.string() }).nullable(),
    enabled: z.boolean(),
    origin: z.enum(['api', 'file']).describe('who defined it last: the API, or PIPELINES_FILE at start'),
    created_at: z.string(),
    updated_at: z.string(),
    next_run_at: z.string().nullable().describe('the next scheduled collection; null without an enabled schedule'),
    last_collection: lastCollectionSchema
      .nullable()
      .describe('how the latest collection (scheduled or triggered) ended, written by the worker when it ends and at each failed attempt; null before the first'),
  })
  .describe('Pipeline');

export const pipelineListSchema = z.object({ object: z.literal('list'), data: z.array(pipelineViewSchema) });

export const pipelineTriggerSchema = z.object({ pipeline_id: z.string(), job_id: z.string() }).describe('PipelineTrigger');
