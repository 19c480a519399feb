import { z } from 'zod';
import { badRequest } from '../lib/api-error.js';
import { BATCH_ENDPOINTS, METADATA_MAX_PAIRS } from '../lib/batch-limits.js';
import { metadataKeySchema, metadataSchema } from '../lib/metadata-schema.js';
import { RESERVED_METADATA_PAIRS, RESERVED_METADATA_PREFIX } from './batch-metadata.js';
import { formatZodError } from '../lib/format-zod-error.js';
import { badItemId, customIdFor, GENERATED_ID_PREFIX, ownIdOf } from '../pipelines/templates/item-identity.js';
import { missingPostedContent } from '../pipelines/templates/posted-item-content.js';
import { lookupPath } from '../pipelines/templates/render-placeholders.js';
import { placeholdersOf, templateDefinitionSchema, type TemplateDefinition } from '../pipelines/templates/template-definition.js';
import { RequestLineValidator, requestLineSchema, type RequestLine } from './request-line-validator.js';
import { jsonRequestNaming } from './request-naming.js';

/** Most items one JSON body may carry; larger runs come as NDJSON or from a pipeline source. */
export const MAX_ITEMS_PER_BODY = 100_000;

const itemsSchema = z.array(z.record(z.string(), z.unknown())).min(1, 'must hold at least one item').max(MAX_ITEMS_PER_BODY);

/** The caller's batch metadata: OpenAI's limits, less the pairs batchline writes itself. */
export const runMetadataSchema = metadataSchema(
  METADATA_MAX_PAIRS - RESERVED_METADATA_PAIRS,
  `at most ${METADATA_MAX_PAIRS - RESERVED_METADATA_PAIRS} pairs (batchline adds ${RESERVED_METADATA_PAIRS} of OpenAI's ${METADATA_MAX_PAIRS})`,
  metadataKeySchema.refine((key) => !key.startsWith(RESERVED_METADATA_PREFIX), `keys starting with "${RESERVED_METADATA_PREFIX}" are reserved`),
).optional();

export const templateRunBodySchema = z.strictObject({ template: templateDefinitionSchema, items: itemsSchema, metadata: runMetadataSchema });
export const pipelineRunBodySchema = z.strictObject({ pipeline: z.string().min(1), items: itemsSchema, metadata: runMetadataSchema });
export const requestsRunBodySchema = z.strictObject({
  metadata: runMetadataSchema,
  endpoint: z.enum(BATCH_ENDPOINTS),
  requests: z.array(requestLineSchema).min(1, 'must hold at least one request').max(MAX_ITEMS_PER_BODY),
});
/** For the OpenAPI document: the three JSON forms of POST /v1/runs. */
export const runBodySchema = z.union([templateRunBodySchema, pipelineRunBodySchema, requestsRunBodySchema]);

type RunMetadata = Record<string, string> | null;
export type ParsedRunBody =
  | { kind: 'template'; template: TemplateDefinition; items: Array<Record<string, unknown>>; metadata: RunMetadata }
  | { kind: 'pipeline'; pipelineId: string; items: Array<Record<string, unknown>>; metadata: RunMetadata }
  | { kind: 'requests'; endpoint: string; model: string | null; requests: RequestLine[]; metadata: RunMetadata };

/**
 * Picks the form by its distinguishing field and validates against that
 * form alone, so the message names the real problem instead of "matches no
 * variant of a union".
 */
export function parseRunBody(body: unknown): ParsedRunBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('invalid_request', 'the body must be a JSON object: { template, items }, { pipeline, items } or { endpoint, requests }');
  }
  // Each form has one field that names it and one list; a body with two would have the other silently ignored.
  const named = ['template', 'pipeline', 'endpoint'].filter((field) => field in body);
  const lists = ['items', 'requests'].filter((field) => field in body);
  if (named.length > 1 || lists.length > 1 || (named.includes('endpoint') && lists.includes('items')) || (lists.includes('requests') && (named.includes('template') || named.includes('pipeline')))) {
    const mixed = [...named, ...lists];
    throw badRequest('invalid_request', `the body names ${mixed.map((field) => `"${field}"`).join(', ')}; a run is one of { template, items }, { pipeline, items } or { endpoint, requests }, not a mix`);
  }
  if ('requests' in body || 'endpoint' in body) return parseRequestsRun(body);
  if ('pipeline' in body) {
    const parsed = parse(pipelineRunBodySchema, body);
    return { kind: 'pipeline', pipelineId: parsed.pipeline, items: parsed.items, metadata: parsed.metadata ?? null };
  }
  if ('template' in body) {
    const parsed = parse(templateRunBodySchema, body);
    checkItems(parsed.template, parsed.items);
    return { kind: 'template', template: parsed.template, items: parsed.items, metadata: parsed.metadata ?? null };
  }
  throw badRequest('invalid_request', 'the body needs "template" and "items", "pipeline" and "items", or "endpoint" and "requests"');
}

function parseRequestsRun(body: object): ParsedRunBody {
  // Validate the envelope first, then each line with the same rules as the NDJSON form.
  const envelope = parse(z.strictObject({ metadata: runMetadataSchema, endpoint: requestsRunBodySchema.shape.endpoint, requests: z.array(z.unknown()).min(1, 'must hold at least one request').max(MAX_ITEMS_PER_BODY) }), body);
  const validator = new RequestLineValidator(envelope.endpoint, jsonRequestNaming);
  const requests = envelope.requests.map((request, index) => validator.check(request, index));
  return { kind: 'requests', endpoint: envelope.endpoint, model: validator.runModel, requests, metadata: envelope.metadata ?? null };
}

/**
 * Refuses POSTed items the template cannot use at all: one whose id is not
 * a usable id, one without the content its template reads (a placeholder's
 * field, an article's text, an image), or two items that would share a custom_id.
 */
export function checkItems(template: TemplateDefinition, items: ReadonlyArray<Record<string, unknown>>): void {
  const placeholders = placeholdersOf(template);
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const badId = badItemId(item, template);
    if (badId !== null) throw badRequest('invalid_request', `items[${index}].${badId.field} ${badId.problem}`);
    const missing = missingPostedContent(template, item);
    if (missing !== null) throw badRequest('missing_field', `items[${index}] ${missing}`);
    for (const placeholder of placeholders) {
      if (!lookupPath(item, placeholder).found) {
        throw badRequest('missing_field', `items[${index}] has no field "${placeholder}" for the placeholder {{${placeholder}}}`);
      }
    }
    const customId = customIdFor(item, index, template);
    const earlier = seen.get(customId);
    if (earlier !== undefined) throw badRequest('duplicate_custom_id', `${sharedIdMessage(items, template, customId, index, earlier)}; item ids must be unique within a run`);
    seen.set(customId, index);
  });
}

/**
 * Says how two items came to one id truthfully: an item without an id of
 * its own is named `item-<index>` by batchline, which a sender may not know.
 */
function sharedIdMessage(items: ReadonlyArray<Record<string, unknown>>, template: TemplateDefinition, customId: string, index: number, earlier: number): string {
  const hasOwnId = (position: number): boolean => {
    const item = items[position] ?? {};
    return typeof item.custom_id === 'string' || ownIdOf(item, template) !== null;
  };
  const generated = `items without an id are named ${GENERATED_ID_PREFIX}<position>`;
  if (!hasOwnId(earlier)) return `items[${index}]'s id "${customId}" is the id items[${earlier}] was given (it has no id of its own, and ${generated})`;
  if (!hasOwnId(index)) return `items[${index}] has no id of its own and would be named "${customId}" (${generated}), the id of items[${earlier}]`;
  return `items[${index}] and items[${earlier}] share the id "${customId}"`;
}

function parse<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw badRequest('invalid_request', formatZodError(parsed.error));
  return parsed.data;
}
