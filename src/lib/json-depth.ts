import { badRequest } from './api-error.js';

/**
 * The deepest nesting of objects and arrays a JSON body or NDJSON line may
 * have. Real request bodies stay far below it (OpenAI caps a structured-output
 * schema at 10 levels, two or three JSON levels each, under a few levels of
 * request wrapping), while every recursive walk the value meets later
 * (zod, JSON.stringify, structuredClone) stays thousands of frames short of
 * the stack limit, which a body of 5,000 "[" once reached.
 */
export const MAX_JSON_DEPTH = 100;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, found by
 * one pass over the text that counts brackets outside strings: no recursion
 * and nothing parsed, so it is safe before JSON.parse. Text that is not
 * valid JSON gets some answer; the parse that follows refuses it anyway.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  // Nesting deeper than maxDepth takes more than maxDepth opening brackets. A request line has a
  // handful, and counting them with indexOf (native, fast) spares the walk below for nearly
  // every NDJSON line of a large upload.
  if (openingBracketsUpTo(text, maxDepth + 1) <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if (inString) {
      if (code === BACKSLASH) at += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) depth -= 1;
  }
  return false;
}

/** How many "{" and "[" the text holds, counting no further than `limit` (brackets inside strings count too: an upper bound). */
function openingBracketsUpTo(text: string, limit: number): number {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at !== -1 && count < limit; at = text.indexOf(bracket, at + 1)) count += 1;
  }
  return count;
}

/**
 * Refuses JSON text nested deeper than MAX_JSON_DEPTH with a 400 naming the
 * limit; `what` names the text ("the body", or a function giving "line 3",
 * called only for the error so a large upload's lines cost no label each).
 */
export function assertJsonDepth(text: string, what: string | (() => string)): void {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    throw badRequest('too_deep', `${typeof what === 'string' ? what : what()} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep, the most this API accepts`);
  }
}
