import { encodeLine, type EncodedLine } from '../lib/line-file-writer.js';

/** One line of a run's results (PRODUCT.md, "A result line"): every request has exactly one. */
export interface ResultLine {
  custom_id: string;
  item: unknown;
  status_code: number | null;
  output: Record<string, unknown> | null;
  response: unknown;
  error: { code: string; message: string } | null;
}

/**
 * A value kept as the JSON text it was stored as (an item read back from its
 * shard's manifest), written into result lines as it is instead of being
 * parsed and serialized again. Anything else that serializes it gets the
 * parsed value, so JSON.stringify of a line holding one is still right.
 */
export class RawJson {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

export const errorResultLine = (customId: string, item: unknown, error: { code: string; message: string }, statusCode: number | null = null): ResultLine => ({
  custom_id: customId,
  item,
  status_code: statusCode,
  output: null,
  response: null,
  error,
});

export const isSuccess = (line: ResultLine): boolean => line.error === null && line.status_code !== null && line.status_code < 300;

/** JSON.stringify's text for the value; nulls, numbers and stored JSON without a call into it (several per line). */
function json(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (value instanceof RawJson) return value.text;
  return JSON.stringify(value) ?? 'null';
}

/** The line's text before its response and after it: the response is the bulk of a line, and may be spliced in as it came. */
const headOf = (line: ResultLine): string =>
  `{"custom_id":${json(line.custom_id)},"item":${json(line.item)},"status_code":${json(line.status_code)},"output":${json(line.output)},"response":`;
const tailOf = (line: ResultLine): string => `,"error":${json(line.error)}}`;

const NEWLINE = 0x0a;

/**
 * A result line as JSON text: the bytes JSON.stringify(line) gives, except
 * that `rawResponse`, when given, is the response body's own text from the
 * output file (rawResponseBody), spliced in instead of serialized again.
 */
export function encodeResultLine(line: ResultLine, rawResponse: string | null = null): string {
  return `${headOf(line)}${rawResponse ?? json(line.response)}${tailOf(line)}`;
}

/**
 * The same line, newline-terminated, encoded where it lands in the writer's
 * buffer. A response given as bytes (the output line's own UTF-8, sliced) is
 * copied as it is: the body is most of a result line, and decoding it only
 * to encode it again was a sixth of the join's time.
 */
export function encodedResultLine(line: ResultLine, rawResponse: Uint8Array | string | null = null): EncodedLine {
  if (rawResponse === null || typeof rawResponse === 'string') return encodeLine(encodeResultLine(line, rawResponse));
  const head = headOf(line);
  const tail = tailOf(line);
  const headBytes = Buffer.byteLength(head);
  return {
    byteLength: headBytes + rawResponse.length + Buffer.byteLength(tail) + 1,
    writeTo(target, offset) {
      target.write(head, offset, 'utf8');
      target.set(rawResponse, offset + headBytes);
      const end = offset + headBytes + rawResponse.length;
      target[end + target.write(tail, end, 'utf8')] = NEWLINE;
    },
  };
}
