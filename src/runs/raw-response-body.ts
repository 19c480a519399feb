/** A line of an OpenAI batch output or error file, parsed. */
export interface BatchOutputLine {
  custom_id?: unknown;
  response?: { status_code?: unknown; body?: unknown } | null;
  error?: { code?: unknown; message?: unknown } | null;
}

/** The end of a line whose `response` object ends with its `body` and whose `error` is null. */
const CLOSING_TAIL = /\}\s*,\s*"error"\s*:\s*null\s*\}\s*$/;
/** How much of a line's end CLOSING_TAIL needs to see (whitespace is generous at this size). */
const TAIL_WINDOW = 64;

/**
 * The text of `response.body` as it stands in the output line, so a result
 * line can carry it without serializing the parsed body again (that
 * re-serialization was a quarter of the join's time on chat answers). Returns null
 * whenever the slice cannot be proven to be exactly the body, and the caller
 * serializes the parsed value instead.
 *
 * The proof, for a line JSON.parse accepted: every key before `response` at
 * the top level, and before `body` inside `response`, holds a primitive, so
 * no nested object precedes them; with no escape sequence before the body
 * (else null), every key there is written as it reads, and a quote inside a
 * string is impossible, so `"response":` and `"body":` occur first as those
 * keys (a key is followed by a colon where a string value is not); `body`
 * is the last key of `response` and `error` (null) the last key of the
 * line, so the body runs up to the `}` that closes `response`, found from
 * the line's end. Key
 * order is the line's own only without integer-like keys (Object.keys lists
 * those first), so a line with one is not sliced. It assumes no key repeats
 * within an object (RFC 8259 asks producers for unique names, and OpenAI's
 * files have them).
 */
export function rawResponseBody(raw: string, line: BatchOutputLine): string | null {
  const topKeys = Object.keys(line);
  if (topKeys.some(isIndexLike)) return null;
  if (topKeys.at(-1) !== 'error' || topKeys.at(-2) !== 'response' || line.error !== null) return null;
  if (!onlyPrimitivesAt(line as Record<string, unknown>, topKeys.slice(0, -2))) return null;
  const response = line.response;
  if (response === null || response === undefined || typeof response !== 'object') return null;
  const responseKeys = Object.keys(response);
  if (responseKeys.some(isIndexLike)) return null;
  if (responseKeys.at(-1) !== 'body' || !onlyPrimitivesAt(response as Record<string, unknown>, responseKeys.slice(0, -1))) return null;

  const responseValueAt = valueIndexOfKey(raw, '"response"', 0);
  if (responseValueAt === -1) return null;
  const bodyValueAt = valueIndexOfKey(raw, '"body"', responseValueAt);
  if (bodyValueAt === -1) return null;
  // With an escape before the body, a key might be written escaped ("bo\u0064y") and the match be
  // a nested "body" instead: such a line (rare: an id with a quote or a non-ASCII character) is not sliced.
  if (raw.lastIndexOf('\\', bodyValueAt) !== -1) return null;

  const windowStart = Math.max(bodyValueAt, raw.length - TAIL_WINDOW);
  const tail = CLOSING_TAIL.exec(raw.slice(windowStart));
  if (tail === null) return null;
  const text = raw.slice(bodyValueAt, windowStart + tail.index).trim();
  return text === '' ? null : text;
}

/** An array-index-like key ("0", "17"), which Object.keys puts first whatever its place in the text. */
const isIndexLike = (key: string): boolean => /^(?:0|[1-9][0-9]*)$/.test(key);

/** True when none of `keys` holds an object or array: no nested `"response"` or `"body"` key can come before them. */
const onlyPrimitivesAt = (object: Record<string, unknown>, keys: readonly string[]): boolean =>
  keys.every((key) => object[key] === null || typeof object[key] !== 'object');

/**
 * Where the value of the first key `quotedKey` at or after `from` begins (just after its colon),
 * or -1. A match is a key only if a colon follows (else it is a string value that reads the same).
 */
function valueIndexOfKey(raw: string, quotedKey: string, from: number): number {
  for (let at = raw.indexOf(quotedKey, from); at !== -1; at = raw.indexOf(quotedKey, at + 1)) {
    let next = at + quotedKey.length;
    while (next < raw.length && isJsonWhitespace(raw.charCodeAt(next))) next += 1;
    if (raw.charCodeAt(next) === 0x3a /* : */) return next + 1;
  }
  return -1;
}

const isJsonWhitespace = (code: number): boolean => code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
