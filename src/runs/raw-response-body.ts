/** A line of an OpenAI batch output or error file, parsed. */
export interface BatchOutputLine {
  custom_id?: unknown;
  response?: { status_code?: unknown; body?: unknown } | null;
  error?: { code?: unknown; message?: unknown } | null;
}

/** Where a value's text lies in a line: [start, end) in UTF-16 units of the line's string. */
export interface TextSpan {
  start: number;
  end: number;
}

/**
 * Where the text of `response.body` stands in the output line, so a result
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
export function rawResponseBody(raw: string, line: BatchOutputLine): TextSpan | null {
  if (line.error !== null || !keysEndWith(line as Record<string, unknown>, ['response', 'error'])) return null;
  const response = line.response;
  if (response === null || response === undefined || typeof response !== 'object') return null;
  if (!keysEndWith(response as Record<string, unknown>, ['body'])) return null;

  const responseValueAt = valueIndexOfKey(raw, '"response"', 0);
  if (responseValueAt === -1) return null;
  const bodyValueAt = valueIndexOfKey(raw, '"body"', responseValueAt);
  if (bodyValueAt === -1) return null;
  // With an escape before the body, a key might be written escaped ("bo\u0064y") and the match be
  // a nested "body" instead: such a line (rare: an id with a quote or a non-ASCII character) is not sliced.
  if (raw.lastIndexOf('\\', bodyValueAt) !== -1) return null;

  const responseEnd = closingBraceOfResponse(raw);
  if (responseEnd <= bodyValueAt) return null;
  let start = bodyValueAt;
  let end = responseEnd;
  while (start < end && isJsonWhitespace(raw.charCodeAt(start))) start += 1;
  while (end > start && isJsonWhitespace(raw.charCodeAt(end - 1))) end -= 1;
  return start === end ? null : { start, end };
}

/**
 * Where the `}` closing `response` stands, for a line that ends `}, "error": null}`
 * (any JSON whitespace between the tokens), read backwards from the end; else -1.
 */
function closingBraceOfResponse(raw: string): number {
  let at = raw.length;
  for (const token of ['}', 'null', ':', '"error"', ',', '}']) {
    while (at > 0 && isJsonWhitespace(raw.charCodeAt(at - 1))) at -= 1;
    if (at < token.length || !raw.startsWith(token, at - token.length)) return -1;
    at -= token.length;
  }
  return at;
}

/** An array-index-like key ("0", "17"), which Object.keys puts first whatever its place in the text. */
function isIndexLike(key: string): boolean {
  const first = key.charCodeAt(0);
  // Most keys start with a letter: one comparison settles them.
  if (!(first >= 0x30 && first <= 0x39)) return false;
  if (first === 0x30) return key.length === 1;
  for (let at = 1; at < key.length; at += 1) {
    const code = key.charCodeAt(at);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * True when the object's keys end with `last`, in that order, no key is
 * integer-like, and every key before `last` holds a primitive (no object or
 * array, so no nested `"response"` or `"body"` key can come before them).
 * One pass over the keys: this runs for every line of an output file.
 */
function keysEndWith(object: Record<string, unknown>, last: readonly string[]): boolean {
  const keys = Object.keys(object);
  const firstOfLast = keys.length - last.length;
  if (firstOfLast < 0) return false;
  for (let at = 0; at < keys.length; at += 1) {
    const key = keys[at] as string;
    if (isIndexLike(key)) return false;
    if (at >= firstOfLast) {
      if (key !== last[at - firstOfLast]) return false;
    } else {
      const value = object[key];
      if (value !== null && typeof value === 'object') return false;
    }
  }
  return true;
}

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
