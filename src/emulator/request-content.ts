/**
 * What the emulator reads out of a request body, whatever its endpoint: the
 * instruction text, the user's text and the images. Answers and token counts
 * are derived from this one view so they agree with each other.
 */
export interface PromptView {
  /** System and developer messages, and `instructions`. */
  system: string;
  /** Every user-side text part, in order. */
  userTexts: string[];
  /** Image URLs (data URLs included), with their detail level. */
  images: Array<{ url: string; detail: string | undefined }>;
  /** Pre-tokenised inputs (embeddings given as token arrays): their token counts. */
  tokenArrays: number[];
  /** How many messages or items the prompt had (each costs a few tokens). */
  messageCount: number;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);
const asString = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function emptyView(): PromptView {
  return { system: '', userTexts: [], images: [], tokenArrays: [], messageCount: 0 };
}

/** Reads a content value: a string, or parts like text / input_text / image_url / input_image. */
function readContent(content: unknown, into: string[], view: PromptView): void {
  if (typeof content === 'string') {
    into.push(content);
    return;
  }
  if (!Array.isArray(content)) return;
  for (const part of content) {
    if (typeof part === 'string') {
      into.push(part);
      continue;
    }
    if (!isObject(part)) continue;
    const text = asString(part['text']);
    if (text !== undefined) into.push(text);
    const imageUrl = part['image_url'];
    if (typeof imageUrl === 'string') view.images.push({ url: imageUrl, detail: asString(part['detail']) });
    else if (isObject(imageUrl) && typeof imageUrl['url'] === 'string')
      view.images.push({ url: imageUrl['url'], detail: asString(imageUrl['detail']) });
  }
}

function readMessages(messages: unknown, view: PromptView): void {
  if (!Array.isArray(messages)) return;
  const system: string[] = [];
  for (const message of messages) {
    if (typeof message === 'string') {
      view.userTexts.push(message);
      view.messageCount++;
      continue;
    }
    if (!isObject(message)) continue;
    view.messageCount++;
    const role = asString(message['role']);
    if (role === 'system' || role === 'developer') readContent(message['content'], system, view);
    else if (role === 'user' || role === undefined) readContent(message['content'], view.userTexts, view);
  }
  if (system.length > 0) view.system = [view.system, ...system].filter((s) => s !== '').join('\n');
}

function readInputs(input: unknown, view: PromptView): void {
  if (typeof input === 'string') {
    view.userTexts.push(input);
    return;
  }
  if (!Array.isArray(input)) return;
  if (input.every((entry) => typeof entry === 'number')) {
    view.tokenArrays.push(input.length);
    return;
  }
  for (const entry of input) {
    if (typeof entry === 'string') view.userTexts.push(entry);
    else if (Array.isArray(entry)) view.tokenArrays.push(entry.length);
    else if (isObject(entry)) readContent([entry], view.userTexts, view);
  }
}

export function readPrompt(endpoint: string, body: JsonObject): PromptView {
  const view = emptyView();
  switch (endpoint) {
    case '/v1/chat/completions':
      readMessages(body['messages'], view);
      break;
    case '/v1/responses': {
      const instructions = asString(body['instructions']);
      if (instructions !== undefined) view.system = instructions;
      const input = body['input'];
      if (typeof input === 'string') view.userTexts.push(input);
      else readMessages(input, view);
      break;
    }
    case '/v1/completions':
      readInputs(body['prompt'], view);
      break;
    case '/v1/embeddings':
    case '/v1/moderations':
      readInputs(body['input'], view);
      break;
    default:
      break;
  }
  return view;
}

/** A rough, deterministic token count: about 4 characters a token, as OpenAI's rule of thumb says. */
export const textTokens = (text: string): number => (text.length === 0 ? 0 : Math.ceil(text.length / 4));

/** Low-detail images cost 85 tokens, others 765 (a 1024×1024 image at high detail). */
const imageTokens = (detail: string | undefined): number => (detail === 'low' ? 85 : 765);

export function estimateInputTokens(view: PromptView): number {
  let tokens = textTokens(view.system) + view.userTexts.reduce((sum, text) => sum + textTokens(text), 0);
  tokens += view.images.reduce((sum, image) => sum + imageTokens(image.detail), 0);
  tokens += view.tokenArrays.reduce((sum, n) => sum + n, 0);
  // Chat formatting costs a few tokens a message, plus the reply's priming.
  if (view.messageCount > 0) tokens += view.messageCount * 3 + 3;
  return Math.max(1, tokens);
}

/** The marker that makes the image-moderation answer "Yes." (see README). */
export const FLAGGED_MARKER = 'FLAGGED';

/** True when a text part, a data-URL image's decoded bytes or an image URL carries the marker. */
export function carriesFlaggedMarker(view: PromptView): boolean {
  if (view.system.includes(FLAGGED_MARKER) || view.userTexts.some((text) => text.includes(FLAGGED_MARKER))) return true;
  return view.images.some((image) => imageCarriesMarker(image.url));
}

function imageCarriesMarker(url: string): boolean {
  const match = /^data:[^,]*?(;base64)?,/.exec(url);
  if (match === null) return url.includes(FLAGGED_MARKER);
  const payload = url.slice(match[0].length);
  const bytes = match[1] === undefined ? Buffer.from(decodeURIComponent(payload), 'utf8') : Buffer.from(payload, 'base64');
  return bytes.includes(FLAGGED_MARKER);
}
