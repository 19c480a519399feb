import { answerFor } from './answer-rules.js';
import { derivedHexId, derivedId } from './emulator-ids.js';
import { carriesFlaggedMarker, estimateInputTokens, readPrompt, textTokens, type PromptView } from './request-content.js';
import { hash32, seededRandom } from './seeded-random.js';

/**
 * Response bodies shaped like the real endpoints' (ids, usage, finish reasons),
 * with the deterministic answers of answer-rules.ts and token counts derived
 * from the input's size.
 */
export interface GeneratedResponse {
  body: Record<string, unknown>;
  inputTokens: number;
  outputTokens: number;
}

export interface GenerationContext {
  /** Makes the ids stable: the batch id and custom_id. */
  key: string;
  /** Unix seconds. */
  createdAt: number;
}

type JsonObject = Record<string, unknown>;

const DEFAULT_EMBEDDING_DIMENSIONS = 8;

const positiveInt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

/** Cuts the answer at a max-token setting, as the API does (finish_reason "length"). */
function limitAnswer(answer: string, maxTokens: number | undefined): { text: string; truncated: boolean } {
  if (maxTokens === undefined || textTokens(answer) <= maxTokens) return { text: answer, truncated: false };
  return { text: answer.slice(0, maxTokens * 4), truncated: true };
}

function chatCompletion(body: JsonObject, view: PromptView, ctx: GenerationContext, model: string): GeneratedResponse {
  const { text, truncated } = limitAnswer(answerFor(view), positiveInt(body['max_completion_tokens']) ?? positiveInt(body['max_tokens']));
  const inputTokens = estimateInputTokens(view);
  const outputTokens = Math.max(1, textTokens(text));
  return {
    inputTokens,
    outputTokens,
    body: {
      id: derivedId('chatcmpl-', ctx.key),
      object: 'chat.completion',
      created: ctx.createdAt,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: truncated ? 'length' : 'stop',
        },
      ],
      usage: {
        prompt_tokens: inputTokens,
        completion_tokens: outputTokens,
        total_tokens: inputTokens + outputTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_emulator',
    },
  };
}

function response(body: JsonObject, view: PromptView, ctx: GenerationContext, model: string): GeneratedResponse {
  const maxOutputTokens = positiveInt(body['max_output_tokens']);
  const { text, truncated } = limitAnswer(answerFor(view), maxOutputTokens);
  const inputTokens = estimateInputTokens(view);
  const outputTokens = Math.max(1, textTokens(text));
  return {
    inputTokens,
    outputTokens,
    body: {
      id: derivedId('resp_', ctx.key),
      object: 'response',
      created_at: ctx.createdAt,
      status: truncated ? 'incomplete' : 'completed',
      background: false,
      error: null,
      incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
      instructions: typeof body['instructions'] === 'string' ? body['instructions'] : null,
      max_output_tokens: maxOutputTokens ?? null,
      model,
      output: [
        {
          id: derivedId('msg_', ctx.key),
          type: 'message',
          status: truncated ? 'incomplete' : 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      service_tier: 'default',
      store: true,
      temperature: typeof body['temperature'] === 'number' ? body['temperature'] : 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_p: typeof body['top_p'] === 'number' ? body['top_p'] : 1,
      truncation: 'disabled',
      usage: {
        input_tokens: inputTokens,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: inputTokens + outputTokens,
      },
      user: null,
      metadata: {},
    },
  };
}

function completion(body: JsonObject, view: PromptView, ctx: GenerationContext, model: string): GeneratedResponse {
  const { text, truncated } = limitAnswer(answerFor(view), positiveInt(body['max_tokens']) ?? 16 * 1024);
  const inputTokens = estimateInputTokens(view);
  const outputTokens = Math.max(1, textTokens(text));
  return {
    inputTokens,
    outputTokens,
    body: {
      id: derivedId('cmpl-', ctx.key),
      object: 'text_completion',
      created: ctx.createdAt,
      model,
      choices: [{ text, index: 0, logprobs: null, finish_reason: truncated ? 'length' : 'stop' }],
      usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
    },
  };
}

/** A unit vector from a hash of the input: equal inputs embed equally. */
export function embeddingVector(input: string, dimensions: number): number[] {
  const random = seededRandom(hash32('embedding', input));
  const raw = Array.from({ length: dimensions }, () => random() * 2 - 1);
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1;
  return raw.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

function embeddingInputs(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input)) return [];
  if (input.every((entry) => typeof entry === 'number')) return [JSON.stringify(input)];
  return input.map((entry) => (typeof entry === 'string' ? entry : JSON.stringify(entry)));
}

function embeddings(body: JsonObject, view: PromptView, model: string): GeneratedResponse {
  const dimensions = positiveInt(body['dimensions']) ?? DEFAULT_EMBEDDING_DIMENSIONS;
  const base64 = body['encoding_format'] === 'base64';
  const data = embeddingInputs(body['input']).map((input, index) => {
    const vector = embeddingVector(input, dimensions);
    return {
      object: 'embedding',
      index,
      embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
    };
  });
  const inputTokens = estimateInputTokens(view);
  return { inputTokens, outputTokens: 0, body: { object: 'list', data, model, usage: { prompt_tokens: inputTokens, total_tokens: inputTokens } } };
}

const MODERATION_CATEGORIES = ['harassment', 'hate', 'illicit', 'self-harm', 'sexual', 'violence'] as const;

function moderation(view: PromptView, ctx: GenerationContext, model: string): GeneratedResponse {
  const flagged = carriesFlaggedMarker(view);
  const categories = Object.fromEntries(MODERATION_CATEGORIES.map((category) => [category, flagged && category === 'sexual']));
  const scores = Object.fromEntries(MODERATION_CATEGORIES.map((category) => [category, flagged && category === 'sexual' ? 0.98 : 0.0001]));
  return {
    inputTokens: estimateInputTokens(view),
    outputTokens: 0,
    body: { id: derivedId('modr-', ctx.key), model, results: [{ flagged, categories, category_scores: scores }] },
  };
}

/** The success body for one request line of a batch. */
export function generateResponse(endpoint: string, body: JsonObject, ctx: GenerationContext): GeneratedResponse {
  const view = readPrompt(endpoint, body);
  const model = typeof body['model'] === 'string' ? body['model'] : 'unknown-model';
  switch (endpoint) {
    case '/v1/chat/completions':
      return chatCompletion(body, view, ctx, model);
    case '/v1/responses':
      return response(body, view, ctx, model);
    case '/v1/completions':
      return completion(body, view, ctx, model);
    case '/v1/embeddings':
      return embeddings(body, view, model);
    case '/v1/moderations':
      return moderation(view, ctx, model);
    default:
      throw new Error(`the emulator does not generate responses for ${endpoint}`);
  }
}

/** The request id a result line carries in `response.request_id`. */
export const resultRequestId = (key: string): string => derivedHexId('', 'request', key);

