import { parseOutputForRun, type OutputReading } from './parse-output-for-run.js';
import type { BatchOutputLine } from './raw-response-body.js';
import { errorResultLine, type ResultLine } from './result-line.js';

/** The result line a line of a batch's output or error file gives its request (custom_id a string). */
export function resultOfOutputLine(run: OutputReading, line: BatchOutputLine, item: unknown): ResultLine {
  const customId = line.custom_id as string;
  const response = line.response ?? null;
  if (response !== null && typeof response.status_code === 'number') {
    const statusCode = response.status_code;
    if (statusCode < 300 && (line.error === null || line.error === undefined)) {
      return { custom_id: customId, item, status_code: statusCode, output: { ...parseOutputForRun(run, response.body) }, response: response.body ?? null, error: null };
    }
    const bodyError = (response.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    return {
      custom_id: customId,
      item,
      status_code: statusCode,
      output: null,
      response: response.body ?? null,
      error: { code: String(bodyError?.code ?? `http_${statusCode}`), message: String(bodyError?.message ?? `the request failed with HTTP ${statusCode}`) },
    };
  }
  return errorResultLine(customId, item, { code: String(line.error?.code ?? 'unknown_error'), message: String(line.error?.message ?? 'the batch returned no response for this request') });
}
