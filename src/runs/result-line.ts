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
