/**
 * A rough count of the tokens a request line enqueues, for OpenAI's
 * per-model enqueued-token limit. Text is ~4 characters a token; an inline
 * image is billed by its tiles, not its base64 length, so data URLs are cut
 * out and counted as a low-detail image each.
 */
const DATA_URL = /data:[a-z/+.-]+;base64,[A-Za-z0-9+/=]+/g;
const TOKENS_PER_IMAGE = 85;

export function estimateTokens(requestLine: string): number {
  let images = 0;
  const text = requestLine.replace(DATA_URL, () => {
    images += 1;
    return '';
  });
  return Math.ceil(text.length / 4) + images * TOKENS_PER_IMAGE;
}
