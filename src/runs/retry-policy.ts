import type { Tuning } from '../tuning.js';
import type { ResultLine } from './result-line.js';
import type { RunRecord, ShardRecord } from './run-record.js';

/**
 * Which of a finished batch's failed requests go round again, as the
 * shard's next generation:
 * - `transient`: failures a retry can fix (429, 5xx, timeouts, expiry, a
 *   batch cancelled by timeout), up to maxAttemptsPerRequest sends each;
 * - `token-wait`: the batch failed with token_limit_exceeded — nothing ran,
 *   so every request goes again after a wait that doubles each time;
 * - `validation`: the batch failed validation — the lines it named are
 *   rejected for good, the others are resubmitted once (never a loop on the
 *   same bad input);
 * - `none`: every failure is final (a cancelled run, attempts used up).
 */
export type RetryMode = { kind: 'none' } | { kind: 'transient' } | { kind: 'token-wait'; delayMs: number } | { kind: 'validation' };

const TRANSIENT_ERROR_CODES = new Set(['batch_expired', 'batch_cancelled', 'server_error', 'rate_limit_exceeded', 'timeout', 'missing_result', 'internal_error', 'service_unavailable']);

export function retryModeFor(run: RunRecord, shard: ShardRecord, tuning: Tuning): RetryMode {
  if (run.cancel_requested) return { kind: 'none' };
  if (shard.batch_status === 'failed') {
    if (shard.batch_id === null) return { kind: 'none' };
    if (shard.error?.code === 'token_limit_exceeded') {
      return shard.token_waits < tuning.tokenLimitMaxWaits ? { kind: 'token-wait', delayMs: tuning.tokenLimitWaitMs * 2 ** shard.token_waits } : { kind: 'none' };
    }
    return shard.validation_retried ? { kind: 'none' } : { kind: 'validation' };
  }
  return shard.retry_generations + 1 < tuning.maxAttemptsPerRequest ? { kind: 'transient' } : { kind: 'none' };
}

/** A failed request a plain retry can fix: rate limits, server errors, timeouts, requests the batch never reached. */
export function isTransientFailure(line: ResultLine): boolean {
  if (line.error === null) return false;
  if (line.status_code !== null) return line.status_code === 408 || line.status_code === 429 || line.status_code >= 500;
  return TRANSIENT_ERROR_CODES.has(line.error.code);
}

/** The next generation's bookkeeping for each mode. */
export function nextGenerationPatch(shard: ShardRecord, mode: RetryMode): Pick<ShardRecord, 'retry_generations' | 'token_waits' | 'validation_retried'> {
  return {
    retry_generations: shard.retry_generations + (mode.kind === 'transient' || mode.kind === 'validation' ? 1 : 0),
    token_waits: shard.token_waits + (mode.kind === 'token-wait' ? 1 : 0),
    validation_retried: shard.validation_retried || mode.kind === 'validation',
  };
}

/** OpenAI says the limit only in prose: "… Limit: 90,000 enqueued tokens …". */
export function enqueuedTokenLimitFrom(message: string): number | null {
  const match = /Limit:\s*([\d,]+)\s*enqueued tokens/i.exec(message);
  return match?.[1] === undefined ? null : Number(match[1].replaceAll(',', ''));
}
