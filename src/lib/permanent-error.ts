import { APIError } from 'openai';
import { UnrecoverableError } from 'bullmq';

/**
 * Classifies an error once (Novu's rule): a 4xx other than 408/409/429 from
 * OpenAI or S3 will fail the same way again, so it is not retried; timeouts,
 * resets, 429s and 5xx are retried with backoff.
 */
export function isPermanentError(error: unknown): boolean {
  if (error instanceof UnrecoverableError) return true;
  const status = statusOf(error);
  return status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}

function statusOf(error: unknown): number | undefined {
  if (error instanceof APIError) return error.status;
  if (typeof error === 'object' && error !== null && '$metadata' in error) {
    const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
    return metadata?.httpStatusCode;
  }
  return undefined;
}

export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));
