import { parseFlagged } from './parse-flagged.js';
import type { TemplateDefinition } from './template-definition.js';
import { isPlainObject } from './template-item.js';

/** The `output` of a result line: what a person or a downstream job reads first. */
export interface ParsedOutput {
  /** The model's answer text; null when the response has none (embeddings, a refusal, an odd body). */
  text: string | null;
  /** image-moderation only: the yes/no answer; null when the answer is neither (see parseFlagged). */
  flagged?: boolean | null;
  /** embeddings only: the vector's length; the vector itself stays in the line's `response`. */
  embedding_dimensions?: number;
}

/**
 * Turns a successful response body into the result line's `output`. Reads
 * defensively (the body is whatever came back in the output file) and never
 * throws: a body of an unexpected shape gives `text: null`.
 */
export const parseOutput = (template: TemplateDefinition, responseBody: unknown): ParsedOutput => {
  switch (template.type) {
    case 'image-moderation': {
      const text = chatCompletionText(responseBody);
      return { text, flagged: parseFlagged(text) };
    }
    case 'summarize':
    case 'chat':
      return { text: chatCompletionText(responseBody) };
    case 'responses':
      return { text: responsesText(responseBody) };
    case 'embeddings': {
      const dimensions = embeddingDimensions(responseBody);
      return dimensions === null ? { text: null } : { text: null, embedding_dimensions: dimensions };
    }
  }
};

const field = (value: unknown, key: string): unknown => (isPlainObject(value) ? value[key] : undefined);
const arrayAt = (value: unknown, key: string): unknown[] => {
  const found = field(value, key);
  return Array.isArray(found) ? found : [];
};

/** `choices[0].message.content`; a content given as parts is joined. */
const chatCompletionText = (body: unknown): string | null => {
  const content = field(field(arrayAt(body, 'choices')[0], 'message'), 'content');
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const texts = content.flatMap((part) => (field(part, 'type') === 'text' && typeof field(part, 'text') === 'string' ? [field(part, 'text') as string] : []));
  return texts.length > 0 ? texts.join('') : null;
};

/**
 * Every `output_text` part of every `message` output item, joined with
 * nothing between them, the way the official SDK builds `output_text`.
 */
const responsesText = (body: unknown): string | null => {
  const texts: string[] = [];
  for (const output of arrayAt(body, 'output')) {
    if (field(output, 'type') !== 'message') continue;
    for (const part of arrayAt(output, 'content')) {
      const text = field(part, 'text');
      if (field(part, 'type') === 'output_text' && typeof text === 'string') texts.push(text);
    }
  }
  return texts.length > 0 ? texts.join('') : null;
};

/** The length of `data[0].embedding`: a float array, or base64 float32s when `encoding_format` was base64. */
const embeddingDimensions = (body: unknown): number | null => {
  const embedding = field(arrayAt(body, 'data')[0], 'embedding');
  if (Array.isArray(embedding)) return embedding.length;
  if (typeof embedding === 'string') return Buffer.from(embedding, 'base64').length / 4;
  return null;
};
