/** One line of a run's results (PRODUCT.md, "A result line"): every request has exactly one. */
export interface ResultLine {
  custom_id: string;
  item: unknown;
  status_code: number | null;
  output: Record<string, unknown> | null;
  response: unknown;
  error: { code: string; message: string } | null;
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

const json = (value: unknown): string => JSON.stringify(value) ?? 'null';

/**
 * A result line as JSON text: the bytes JSON.stringify(line) gives, except
 * that `rawResponse`, when given, is the response body's own text from the
 * output file (rawResponseBody), spliced in instead of serialized again.
 */
export function encodeResultLine(line: ResultLine, rawResponse: string | null = null): string {
  return `{"custom_id":${json(line.custom_id)},"item":${json(line.item)},"status_code":${json(line.status_code)},"output":${json(line.output)},"response":${rawResponse ?? json(line.response)},"error":${json(line.error)}}`;
}
