/**
 * A rough count of the tokens a request line enqueues, for OpenAI's
 * per-model enqueued-token limit. Text is ~4 characters a token; an inline
 * image is billed by its tiles, not its base64 length, so data URLs are cut
 * out and counted as a low-detail image each.
 */
const DATA_URL = /data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]+/g;
const TOKENS_PER_IMAGE = 85;

/** What the estimate counts in a line: characters of text, and inline images. */
export interface TokenCount {
  textChars: number;
  images: number;
}

/** Counts a line's text and data URLs; the sums of parts give the estimate of the whole line. */
export function countTokenParts(text: string): TokenCount {
  let images = 0;
  let imageChars = 0;
  for (const match of text.matchAll(DATA_URL)) {
    images += 1;
    imageChars += match[0].length;
  }
  return { textChars: text.length - imageChars, images };
}

export function tokensOf(count: TokenCount): number {
  return Math.ceil(count.textChars / 4) + count.images * TOKENS_PER_IMAGE;
}

export function estimateTokens(requestLine: string): number {
  return tokensOf(countTokenParts(requestLine));
}
