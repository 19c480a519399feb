import { z } from 'zod';
import { badRequest } from '../lib/api-error.js';
import { formatZodError } from '../lib/format-zod-error.js';
import { parseStorageUrl } from '../storage/create-storage.js';
import { scheduleSchema } from './pipeline-schedule.js';
import { sourceDefinitionSchema, type SourceDefinition } from './sources/source-definition.js';
import { placeholdersIn } from './templates/render-placeholders.js';
import { templateDefinitionSchema, type TemplateDefinition } from './templates/template-definition.js';

/** Pipeline ids appear in URLs, Redis keys and BullMQ scheduler ids (which may not hold ":"). */
export const PIPELINE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const PIPELINE_ID_MESSAGE = 'must be 1-64 letters, digits, "_" or "-"';

const httpUrl = (what: string) =>
  z.string().refine(
    (value) => {
      try {
        const { protocol } = new URL(value);
        return protocol === 'http:' || protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: `must be an http(s) URL (${what})` },
  );

const outputSchema = z.strictObject({
  /** A copy of each run's results.ndjson and errors.ndjson goes to <url>/<pipeline id>/<run id>/. */
  url: z.string().superRefine((url, ctx) => {
    try {
      parseStorageUrl(url, 'output.url');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  }),
});

const notifySchema = z.strictObject({ slack_webhook_url: httpUrl('a Slack incoming webhook') });

/**
 * The fields every collected item has, so a placeholder template can be
 * checked against them when the pipeline is defined rather than failing
 * item by item at run time. `content_type` exists only where the source
 * reports one: an s3 source that filters on content types.
 */
export function collectedItemFields(source: SourceDefinition): string[] {
  const fields = ['key', 'version', 'size', 'last_modified'];
  if (source.type === 's3' && source.content_types !== undefined) fields.push('content_type');
  return fields;
}

/** The template texts that may hold placeholders, by field name. */
function placeholderTexts(template: TemplateDefinition): Array<[field: string, text: string | undefined]> {
  switch (template.type) {
    case 'chat':
      return [['system_prompt', template.system_prompt], ['prompt', template.prompt]];
    case 'responses':
      return [['instructions', template.instructions], ['prompt', template.prompt]];
    case 'embeddings':
      return [['input', template.input]];
    case 'image-moderation':
    case 'summarize':
      return [];
  }
}

/**
 * A pipeline as PUT /v1/pipelines/:id and PIPELINES_FILE define it (one
 * schema for both). Every object is strict: a misspelt option is refused,
 * never silently ignored.
 */
export const pipelineDefinitionSchema = z
  .strictObject({
    /** When to collect; absent: only on POST /v1/pipelines/:id/trigger. */
    schedule: scheduleSchema.optional(),
    /** Where items are collected from; absent: the pipeline only takes POSTed items (POST /v1/runs { pipeline, items }). */
    source: sourceDefinitionSchema.optional(),
    template: templateDefinitionSchema,
    output: outputSchema.optional(),
    notify: notifySchema.optional(),
    /** false keeps the definition but removes its schedule; a manual trigger still collects. */
    enabled: z.boolean().default(true),
  })
  .superRefine((definition, ctx) => {
    if (definition.schedule !== undefined && definition.source === undefined) {
      ctx.addIssue({ code: 'custom', path: ['schedule'], message: 'a schedule needs a "source" to collect from' });
    }
    if (definition.source === undefined) return;
    const fields = collectedItemFields(definition.source);
    for (const [field, text] of placeholderTexts(definition.template)) {
      for (const placeholder of placeholdersIn(text ?? '')) {
        const top = placeholder.split('.')[0] ?? placeholder;
        if (fields.includes(top)) continue;
        ctx.addIssue({
          code: 'custom',
          path: ['template', field],
          message: `placeholder {{${placeholder}}}: collected items have no field "${top}" (they have ${fields.join(', ')})`,
        });
      }
    }
  });

/** A pipeline definition as written (before defaults). */
export type PipelineDefinitionInput = z.input<typeof pipelineDefinitionSchema>;
/** A validated pipeline definition, defaults filled in. */
export type PipelineDefinition = z.output<typeof pipelineDefinitionSchema>;

/** Validates a definition; a 400 whose message names every bad field (`root` prefixes the paths, e.g. `pipelines.images`). */
export function parsePipelineDefinition(body: unknown, root = ''): PipelineDefinition {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('invalid_pipeline', `${root === '' ? 'the body' : root} must be a JSON object: { schedule?, source?, template, output?, notify?, enabled? }`);
  }
  const parsed = pipelineDefinitionSchema.safeParse(body);
  if (!parsed.success) throw badRequest('invalid_pipeline', formatZodError(parsed.error, root));
  return parsed.data;
}

export function assertPipelineId(id: string): void {
  if (!PIPELINE_ID.test(id)) throw badRequest('invalid_pipeline_id', `pipeline id ${JSON.stringify(id)} ${PIPELINE_ID_MESSAGE}`);
}
