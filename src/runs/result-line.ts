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

/**
 * A result line's text in three parts around its item and its response: the
 * response is the bulk of a line and may be spliced in as it came; the item
 * is known only where the join's index is (see output-block.ts).
 */
export const resultLineStart = (customId: string): string => `{"custom_id":${json(customId)},"item":`;
export const resultLineAfterItem = (line: ResultLine): string => `,"status_code":${json(line.status_code)},"output":${json(line.output)},"response":`;
export const resultLineTail = (line: ResultLine): string => `,"error":${json(line.error)}}`;
/** The response's value as JSON.stringify writes it (when it cannot be spliced in as it came). */
export const resultLineResponse = (line: ResultLine): string => json(line.response);

/** A result line as JSON text: the bytes JSON.stringify(line) gives, an item kept as RawJson written as stored. */
export function encodeResultLine(line: ResultLine): string {
  return `${resultLineStart(line.custom_id)}${json(line.item)}${resultLineAfterItem(line)}${resultLineResponse(line)}${resultLineTail(line)}`;
}

/** The same line, newline-terminated, encoded where it lands in the writer's buffer. */
export const encodedResultLine = (line: ResultLine): EncodedLine => encodeLine(encodeResultLine(line));
