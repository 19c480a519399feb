import { z } from 'zod';
import { metadataSchema } from '../../lib/metadata-schema.js';

/**
 * The request-body parameters of each endpoint that a template's `body` may
 * add, checked by type and range when the template is defined: a bad value
 * would otherwise be stored and sent with every request of every run, each
 * failing at OpenAI. Parameters not listed here pass through unchecked, as
 * OpenAI adds new ones; only their values are checked where OpenAI states
 * them, and fields whose values OpenAI keeps extending (reasoning efforts,
 * service tiers) are checked as strings only.
 */

const positiveInt = z.number().int().positive();
const temperature = z.number().min(0).max(2);
const topP = z.number().min(0).max(1);
const penalty = z.number().min(-2).max(2);
const topLogprobs = z.number().int().min(0).max(20);
const anyObject = z.record(z.string(), z.unknown());
const toolChoice = z.union([z.enum(['none', 'auto', 'required']), anyObject]);
const metadata = metadataSchema();
const verbosity = z.enum(['low', 'medium', 'high']);
/** A batch request is answered whole, into the output file; the Batch API refuses a streamed one. */
const stream = z.literal(false, { error: 'the Batch API does not stream responses: leave "stream" out' });

/** OpenAI's rule for a JSON schema's name. */
const schemaName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -');

const chatResponseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({ name: schemaName, description: z.string().optional(), schema: anyObject.optional(), strict: z.boolean().nullable().optional() }),
  }),
]);

const responsesTextFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({ type: z.literal('json_schema'), name: schemaName, schema: anyObject, strict: z.boolean().nullable().optional() }),
]);

/** Parameters chat completions and responses share, with the same meaning and range. */
const generationParameters = {
  temperature,
  top_p: topP,
  top_logprobs: topLogprobs,
  tools: z.array(anyObject),
  tool_choice: toolChoice,
  parallel_tool_calls: z.boolean(),
  service_tier: z.string().min(1),
  store: z.boolean(),
  metadata,
  user: z.string(),
  stream,
};

const chatCompletionsParameters = {
  ...generationParameters,
  max_tokens: positiveInt,
  max_completion_tokens: positiveInt,
  n: z.number().int().min(1).max(128),
  presence_penalty: penalty,
  frequency_penalty: penalty,
  seed: z.number().int(),
  stop: z.union([z.string(), z.array(z.string()).min(1).max(4)]),
  response_format: chatResponseFormat,
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)),
  logprobs: z.boolean(),
  reasoning_effort: z.string().min(1),
  verbosity,
  modalities: z.array(z.string()),
};

const responsesParameters = {
  ...generationParameters,
  max_output_tokens: positiveInt,
  max_tool_calls: positiveInt,
  text: z.looseObject({ format: responsesTextFormat.optional(), verbosity: verbosity.optional() }),
  reasoning: z.looseObject({ effort: z.string().min(1).nullable().optional(), summary: z.string().min(1).nullable().optional() }),
  truncation: z.enum(['auto', 'disabled']),
  include: z.array(z.string()),
  previous_response_id: z.string().min(1),
};

const embeddingsParameters = {
  encoding_format: z.enum(['float', 'base64']),
  dimensions: positiveInt,
  user: z.string(),
};

const PARAMETERS = {
  '/v1/chat/completions': chatCompletionsParameters,
  '/v1/responses': responsesParameters,
  '/v1/embeddings': embeddingsParameters,
} as const;

type BodyEndpoint = keyof typeof PARAMETERS;

/** Parameters a template sets itself, each with what to do instead of setting it in `body`. */
export type OwnedParameters = Readonly<Record<string, string>>;

/**
 * A template's `body`: the endpoint's known parameters checked, unknown ones
 * passed through as given, and those the template sets itself refused (an
 * extra that replaced them would silently break the one-model-per-file rule,
 * discard the item's content, or contradict the template's own option).
 */
export const bodyParametersSchema = (endpoint: BodyEndpoint, owned: OwnedParameters) => {
  const known = Object.fromEntries(Object.entries(PARAMETERS[endpoint]).map(([name, schema]) => [name, schema.optional()]));
  return z
    .looseObject(known)
    .superRefine((body, ctx) => {
      for (const key of Object.keys(body)) {
        const instead = owned[key];
        if (instead !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `body may not override "${key}": ${instead}` });
      }
    })
    .optional();
};
