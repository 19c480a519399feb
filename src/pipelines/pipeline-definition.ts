import { z } from 'zod';
import { badRequest } from '../lib/api-error.js';
import { formatZodError } from '../lib/format-zod-error.js';
import { parseStorageUrl } from '../storage/create-storage.js';
import { lastCollectionSchema } from './collection/last-collection.js';
import { isMaskedWebhookUrl } from './pipeline-webhook-mask.js';
import { scheduleSchema } from './pipeline-schedule.js';
import { sourceDefinitionSchema, type SourceDefinition } from './sources/source-definition.js';
import { placeholdersIn } from './templates/render-placeholders.js';
import { isPlainObject } from './templates/template-item.js';
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
      // The issue's path already names the field (output.url): the message names only the value.
      parseStorageUrl(url, 'the URL');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  }),
});

/** An optional part: absent, or null as GET shows an absent part; either way the definition holds no such part. */
const absentOrNull = <T extends z.ZodType>(schema: T) =>
  schema
    .nullish()
    .transform((value) => value ?? undefined)
    .optional();

const webhookUrl = httpUrl('a Slack incoming webhook').refine((url) => !isMaskedWebhookUrl(url), {
  // Storing a mask would send every later notification to a bogus address.
  message: 'is masked, as GET shows it, not a webhook URL: give the full URL (a PUT keeps the stored URL only when sent back its unchanged mask)',
});

/**
 * `{ slack_webhook_url }`, or null. The URL is notify's only field, so
 * nulling it in a GET body (the natural edit) removes the webhook exactly as
 * `notify: null` does; an empty `{}` is still refused as missing the URL.
 */
const notifySchema = absentOrNull(
  z
    .strictObject({ slack_webhook_url: webhookUrl.nullable() })
    .transform((notify) => (notify.slack_webhook_url === null ? undefined : { slack_webhook_url: notify.slack_webhook_url })),
);

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

/** The parts of a definition, one set for PUT /v1/pipelines/:id and PIPELINES_FILE. */
const definitionFields = {
  /** When to collect; absent: only on POST /v1/pipelines/:id/trigger. Needs a source. */
  schedule: absentOrNull(scheduleSchema),
  /** Where items are collected from; absent: the pipeline only takes POSTed items (POST /v1/runs { pipeline, items }). */
  source: absentOrNull(sourceDefinitionSchema),
  template: templateDefinitionSchema,
  output: absentOrNull(outputSchema),
  notify: notifySchema,
  /**
   * false keeps the definition but removes its schedule; a manual trigger
   * still collects. null is the default, as for every other optional part
   * (and what YAML reads from a bare `enabled:`).
   */
  enabled: z
    .boolean()
    .nullish()
    .transform((enabled) => enabled ?? true),
};

/**
 * What GET /v1/pipelines/:id adds to a definition. PUT accepts and ignores
 * them, so a pipeline read can be sent back as it is; the file takes none of
 * them (the id is its key, the rest the server's).
 */
const readOnlyFields = {
  // null is ignored like any other value (a GET body edited by blanking fields); an id of null names no other pipeline.
  id: z.string().nullish().describe('read-only: ignored, but must be the id in the path when given as a string'),
  origin: z.enum(['api', 'file']).nullish().describe('read-only: ignored'),
  created_at: z.string().nullish().describe('read-only: ignored'),
  updated_at: z.string().nullish().describe('read-only: ignored'),
  next_run_at: z.string().nullable().optional().describe('read-only: ignored'),
  last_collection: lastCollectionSchema.nullable().optional().describe('read-only: ignored'),
};

type DefinitionParts = z.output<z.ZodObject<typeof definitionFields>>;

/** Rules between parts: a schedule needs a source; placeholders name fields collected items have. */
function checkDefinitionRules(definition: DefinitionParts, ctx: z.RefinementCtx): void {
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
}

/**
 * The rules between parts run only once every part is valid on its own: a
 * bad part (a cron expression out of range, a misspelt field) is reported
 * alone rather than with a rule that reads parts the caller must fix anyway.
 */
const rulesOnceValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

/**
 * A pipeline as PIPELINES_FILE defines it, and the definition
 * PUT /v1/pipelines/:id takes. Every object is strict: a misspelt option is
 * refused, never silently ignored.
 */
export const pipelineDefinitionSchema = z.strictObject(definitionFields).superRefine(checkDefinitionRules, rulesOnceValid);

/** The body of PUT /v1/pipelines/:id: a definition, or a pipeline as GET shows it (the read-only fields ignored). */
export const pipelinePutBodySchema = z
  .strictObject({ ...definitionFields, ...readOnlyFields })
  .superRefine(checkDefinitionRules, rulesOnceValid)
  .describe('PipelineDefinition');

/** A pipeline definition as written (before defaults). */
export type PipelineDefinitionInput = z.input<typeof pipelineDefinitionSchema>;
/** A validated pipeline definition, defaults filled in. */
export type PipelineDefinition = z.output<typeof pipelineDefinitionSchema>;

/** A 400 whose message names every bad field (`root` prefixes the paths, e.g. `pipelines.images`), or the parsed body. */
function parseOrRefuse<T extends z.ZodType>(schema: T, body: unknown, root: string, otherProblems: readonly string[] = []): z.output<T> {
  if (!isPlainObject(body)) {
    throw badRequest('invalid_pipeline', `${root === '' ? 'the body' : root} must be a JSON object: { schedule?, source?, template, output?, notify?, enabled? }`);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success && otherProblems.length === 0) return parsed.data;
  throw badRequest('invalid_pipeline', [...otherProblems, ...(parsed.success ? [] : [formatZodError(parsed.error, root)])].join('; '));
}

/** Validates a definition as PIPELINES_FILE holds it. */
export function parsePipelineDefinition(body: unknown, root = ''): PipelineDefinition {
  return parseOrRefuse(pipelineDefinitionSchema, body, root);
}

/** Validates a PUT /v1/pipelines/:id body for the pipeline `id`, and returns its definition without the read-only fields. */
export function parsePipelinePutBody(id: string, body: unknown): PipelineDefinition {
  const given = isPlainObject(body) ? body['id'] : undefined;
  // A body read from another pipeline and PUT here by mistake: say so rather than quietly define this one.
  const idProblem =
    typeof given === 'string' && given !== id
      ? [`id: "${given}" is not the id in the path ("${id}"); the id is read-only and comes from the path: omit it, or PUT to /v1/pipelines/${given}`]
      : [];
  const { id: _id, origin: _origin, created_at: _createdAt, updated_at: _updatedAt, next_run_at: _nextRunAt, last_collection: _lastCollection, ...definition } = parseOrRefuse(pipelinePutBodySchema, body, '', idProblem);
  return definition;
}

export function assertPipelineId(id: string): void {
  if (!PIPELINE_ID.test(id)) throw badRequest('invalid_pipeline_id', `pipeline id ${JSON.stringify(id)} ${PIPELINE_ID_MESSAGE}`);
}
