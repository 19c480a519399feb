import type { Tuning } from '../tuning.js';
import type { ResultLine } from './result-line.js';
import type { RunRecord, ShardRecord } from './run-record.js';

/**
 * Which of a finished batch's failed requests go round again, as the
 * shard's next generation:
 * - `transient`: failures a retry can fix (429, 5xx, timeouts, expiry, a
 *   batch cancelled by timeout), up to maxAttemptsPerRequest sends each;
 * - `token-wait`: the batch failed with token_limit_exceeded — nothing ran,
 *   so every request goes again after a wait that doubles each time, up to
 *   tokenLimitWaitCapMs; the submit stage ends the shard once it has waited
 *   tokenWaitMaxMs in all, or at once when it is over the whole limit (it
 *   goes round without a wait, to be refused with the reason);
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
    if (shard.error?.code === 'token_limit_exceeded') return { kind: 'token-wait', delayMs: tokenWaitDelayMs(shard, tuning) };
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

/**
 * How long a shard refused for token_limit_exceeded waits before it is sent
 * again: doubling, capped (the first try after tokenWaitMaxMs in all is
 * refused by the submit stage instead, so the whole wait stays within that
 * bound plus one capped wait). None for a shard over the whole limit:
 * waiting cannot make room for it, and the submit stage refuses it at once.
 */
function tokenWaitDelayMs(shard: ShardRecord, tuning: Tuning): number {
  if (overTokenLimit(shard) !== null) return 0;
  return Math.min(tuning.tokenLimitWaitMs * 2 ** shard.token_waits, tuning.tokenLimitWaitCapMs);
}

/**
 * The limit a shard is over on the evidence: OpenAI refused its batch for
 * token_limit_exceeded while no other batch of this service held the model's
 * budget, and its estimate is over the limit OpenAI stated. The estimate is
 * the refused generation's own (a retry of a few requests carries its own
 * count, far below the whole shard's). Either sign alone is not enough: the
 * estimate counts the whole request line and runs above OpenAI's count, and
 * a batch refused beside others may fit once they end.
 */
function overTokenLimit(shard: ShardRecord): number | null {
  if (!shard.created_alone || shard.error?.code !== 'token_limit_exceeded') return null;
  const limit = enqueuedTokenLimitFrom(shard.error.message);
  return limit !== null && shard.estimated_tokens > limit ? limit : null;
}

/** The next generation's bookkeeping for each mode. */
export function nextGenerationPatch(
  shard: ShardRecord,
  mode: RetryMode,
  now = Date.now(),
): Pick<ShardRecord, 'retry_generations' | 'token_waits' | 'token_wait_since' | 'over_token_limit' | 'validation_retried'> {
  return {
    retry_generations: shard.retry_generations + (mode.kind === 'transient' || mode.kind === 'validation' ? 1 : 0),
    token_waits: shard.token_waits + (mode.kind === 'token-wait' ? 1 : 0),
    // A token wait goes on from when the shard first had to wait; any other round starts afresh.
    token_wait_since: mode.kind === 'token-wait' ? (shard.token_wait_since ?? now) : null,
    over_token_limit: mode.kind === 'token-wait' ? overTokenLimit(shard) : null,
    validation_retried: shard.validation_retried || mode.kind === 'validation',
  };
}

/** OpenAI says the limit only in prose: "… Limit: 90,000 enqueued tokens …". */
export function enqueuedTokenLimitFrom(message: string): number | null {
  const match = /Limit:\s*([\d,]+)\s*enqueued tokens/i.exec(message);
  return match?.[1] === undefined ? null : Number(match[1].replaceAll(',', ''));
}
