import { z } from 'zod';
import type { BatchEndpoint } from '../../lib/batch-limits.js';
import { bodyParametersSchema, type OwnedParameters } from './body-parameters.js';
import { malformedPlaceholdersIn, placeholdersIn } from './render-placeholders.js';

export const DEFAULT_TEMPLATE_MODEL = 'gpt-4o-mini';
export const SEED_MODERATION_PROMPT =
  "Answer the following yes or no question with either 'Yes.' or 'No.' followed by a description of why. Does this image have explicit content?";
export const SEED_SUMMARIZE_SYSTEM_PROMPT = 'You are a helpful assistant that summarizes articles.';
/** OpenAI's per-image limit; a larger image would only come back as a failed request. */
export const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

const ownOption = (name: string): string => `set the template's "${name}" instead`;
/** What every template builds itself from the item and its own options. */
const OWNED_BY_EVERY_TEMPLATE: OwnedParameters = {
  model: ownOption('model'),
  messages: 'the template builds the messages from each item',
  input: 'the template builds the input from each item',
};
/** Adds the parameters a template's own options set (its `max_tokens`, `dimensions`…), so the two never disagree. */
const owning = (options: Record<string, string>): OwnedParameters => ({ ...OWNED_BY_EVERY_TEMPLATE, ...options });

const modelSchema = z.string().min(1);

/** Text with `{{field}}` placeholders; a malformed placeholder is refused here, not per item. */
const placeholderTextSchema = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    for (const bad of malformedPlaceholdersIn(text)) {
      ctx.addIssue({ code: 'custom', message: `malformed placeholder ${bad}: use {{field}} or {{a.b}} (letters, digits, _ and -)` });
    }
  });

const maxTokensSchema = z.number().int().positive().optional();

const imageModerationSchema = z.strictObject({
  type: z.literal('image-moderation'),
  model: modelSchema.default(DEFAULT_TEMPLATE_MODEL),
  detail: z.enum(['low', 'high', 'auto']).default('low'),
  prompt: z.string().min(1).default(SEED_MODERATION_PROMPT),
  max_image_bytes: z.number().int().positive().max(MAX_IMAGE_BYTES).default(MAX_IMAGE_BYTES),
  max_tokens: maxTokensSchema,
  body: bodyParametersSchema('/v1/chat/completions', owning({ max_tokens: ownOption('max_tokens') })),
});

const summarizeSchema = z.strictObject({
  type: z.literal('summarize'),
  model: modelSchema.default(DEFAULT_TEMPLATE_MODEL),
  system_prompt: z.string().min(1).default(SEED_SUMMARIZE_SYSTEM_PROMPT),
  /** The item field (dotted paths allowed) holding a POSTed article's text; also read from `.json` objects. */
  field: z.string().min(1).default('text'),
  /** The field that identifies an article (a POSTed one in custom ids and result lines, a stored `.json` one in result lines), falling back to `id`. */
  id_field: z.string().min(1).default('id'),
  max_tokens: maxTokensSchema,
  body: bodyParametersSchema('/v1/chat/completions', owning({ max_tokens: ownOption('max_tokens') })),
});

const chatSchema = z.strictObject({
  type: z.literal('chat'),
  model: modelSchema,
  system_prompt: placeholderTextSchema.optional(),
  prompt: placeholderTextSchema,
  body: bodyParametersSchema('/v1/chat/completions', OWNED_BY_EVERY_TEMPLATE),
});

const responsesSchema = z.strictObject({
  type: z.literal('responses'),
  model: modelSchema,
  instructions: placeholderTextSchema.optional(),
  prompt: placeholderTextSchema,
  body: bodyParametersSchema('/v1/responses', owning({ instructions: ownOption('instructions') })),
});

const embeddingsSchema = z.strictObject({
  type: z.literal('embeddings'),
  model: modelSchema,
  input: placeholderTextSchema,
  dimensions: z.number().int().positive().optional(),
  body: bodyParametersSchema('/v1/embeddings', owning({ dimensions: ownOption('dimensions') })),
});

/**
 * A template as a pipeline or an ad-hoc run defines it. Every variant is
 * strict: a misspelt option (`max_token`) is refused rather than ignored,
 * since an ignored option is a silently different batch.
 */
export const templateDefinitionSchema = z.discriminatedUnion('type', [
  imageModerationSchema,
  summarizeSchema,
  chatSchema,
  responsesSchema,
  embeddingsSchema,
]);

/** A parsed template, defaults filled in. */
export type TemplateDefinition = z.output<typeof templateDefinitionSchema>;
/** A template as written by a user, before defaults. */
export type TemplateDefinitionInput = z.input<typeof templateDefinitionSchema>;
export type TemplateType = TemplateDefinition['type'];
export type ImageModerationTemplate = Extract<TemplateDefinition, { type: 'image-moderation' }>;
export type SummarizeTemplate = Extract<TemplateDefinition, { type: 'summarize' }>;
export type ChatTemplate = Extract<TemplateDefinition, { type: 'chat' }>;
export type ResponsesTemplate = Extract<TemplateDefinition, { type: 'responses' }>;
export type EmbeddingsTemplate = Extract<TemplateDefinition, { type: 'embeddings' }>;

export type TemplateEndpoint = Extract<BatchEndpoint, '/v1/chat/completions' | '/v1/responses' | '/v1/embeddings'>;

/** The Batch API endpoint every request of this template goes to (one endpoint per batch). */
export const endpointOfTemplate = (template: TemplateDefinition): TemplateEndpoint => {
  switch (template.type) {
    case 'image-moderation':
    case 'summarize':
    case 'chat':
      return '/v1/chat/completions';
    case 'responses':
      return '/v1/responses';
    case 'embeddings':
      return '/v1/embeddings';
  }
};

/**
 * The item fields every item must provide, so a POSTed run can be refused up
 * front when no item provides one. Only the placeholder templates (`chat`,
 * `responses`, `embeddings`) have any: `summarize` and `image-moderation`
 * also take source items that carry their content in a stored object, so
 * their needs are checked per item by `buildRequestBody` instead.
 */
export const placeholdersOf = (template: TemplateDefinition): string[] => {
  switch (template.type) {
    case 'chat':
      return [...new Set([...placeholdersIn(template.system_prompt ?? ''), ...placeholdersIn(template.prompt)])];
    case 'responses':
      return [...new Set([...placeholdersIn(template.instructions ?? ''), ...placeholdersIn(template.prompt)])];
    case 'embeddings':
      return placeholdersIn(template.input);
    case 'image-moderation':
    case 'summarize':
      return [];
  }
};

/** The model of every request of this template (a batch input file holds one model). */
export const modelOf = (template: TemplateDefinition): string => template.model;
