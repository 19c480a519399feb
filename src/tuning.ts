import { availableParallelism } from 'node:os';
import type { Config } from './config.js';

/**
 * Timings and sizes the stages run by. Production uses the defaults; tests
 * and the demo shrink the waits so a run finishes in seconds.
 */
export interface Tuning {
  /** First status check after a batch is created, then doubling up to pollMaxMs. */
  pollInitialMs: number;
  pollMaxMs: number;
  /** Checks tighten to at most this interval within an hour of expires_at. */
  pollNearExpiryMs: number;
  /** How far past expires_at a batch may stay non-terminal before the run gives up on it. */
  pollDeadlineMarginMs: number;
  /** Shard limits: OpenAI's (50,000 requests; just under 200 MB). */
  shardMaxRequests: number;
  shardMaxBytes: number;
  /** How far back submission reconciliation looks for a batch it may already have created. */
  reconcileWindowMs: number;
  /** Timeout of one OpenAI API call. */
  openaiTimeoutMs: number;
  /** How many times one request is sent before a retryable failure (429, 5xx, expiry) is final. */
  maxAttemptsPerRequest: number;
  /** Waiting out token_limit_exceeded: the first wait before the shard is sent again, doubling per try up to tokenLimitWaitCapMs. */
  tokenLimitWaitMs: number;
  tokenLimitWaitCapMs: number;
  /**
   * How long in all a shard may wait for room under its model's enqueued-token
   * limit (from its first wait until a batch of it runs): its first try after
   * that ends it instead (so at most one tokenLimitWaitCapMs later). What holds
   * the room is batches with a 24 h completion window, so by then they have
   * ended and more waiting would not help.
   */
  tokenWaitMaxMs: number;
  /** How long a shard waits before asking again for room in its model's enqueued-token budget. */
  tokenBudgetRecheckMs: number;
  /** Threads a worker process's results joins parse and encode output files on; 0 joins on the event loop. */
  joinThreads: number;
}

export const defaultTuning: Tuning = {
  pollInitialMs: 10_000,
  pollMaxMs: 5 * 60_000,
  pollNearExpiryMs: 60_000,
  pollDeadlineMarginMs: 2 * 3600_000,
  shardMaxRequests: 50_000,
  shardMaxBytes: 199 * 1024 * 1024,
  reconcileWindowMs: 6 * 3600_000,
  openaiTimeoutMs: 120_000,
  maxAttemptsPerRequest: 3,
  // 5, 10, 20, 40 min, then hourly until the 25 h bound (a refused batch costs nothing).
  tokenLimitWaitMs: 5 * 60_000,
  tokenLimitWaitCapMs: 3600_000,
  tokenWaitMaxMs: 25 * 3600_000,
  tokenBudgetRecheckMs: 60_000,
  // Two where there are two cores or more: a 50,000-line join took 0.35 s with two, 0.38 s with one and 0.46 s
  // with none (2-core machine, bench/RESULTS.md). On one core a thread would only take turns with the event loop.
  joinThreads: availableParallelism() > 1 ? 2 : 0,
};

/** Fast timings for the demo and the test suites: the emulator answers in seconds or at once. */
export const quickTuning: Tuning = {
  ...defaultTuning,
  pollInitialMs: 100,
  pollMaxMs: 1_000,
  pollNearExpiryMs: 500,
  tokenLimitWaitMs: 500,
  tokenLimitWaitCapMs: 2_000,
  tokenBudgetRecheckMs: 250,
};

/** The timings an operator (or a test starting worker processes) may set through the environment; unset ones keep their default. */
export function tuningFromConfig(
  config: Pick<Config, 'BATCHLINE_POLL_INITIAL_MS' | 'BATCHLINE_POLL_MAX_MS' | 'BATCHLINE_SHARD_MAX_REQUESTS' | 'BATCHLINE_JOIN_THREADS'>,
): Partial<Tuning> {
  const set: Partial<Tuning> = {};
  if (config.BATCHLINE_POLL_INITIAL_MS !== undefined) set.pollInitialMs = config.BATCHLINE_POLL_INITIAL_MS;
  if (config.BATCHLINE_POLL_MAX_MS !== undefined) set.pollMaxMs = config.BATCHLINE_POLL_MAX_MS;
  if (config.BATCHLINE_SHARD_MAX_REQUESTS !== undefined) set.shardMaxRequests = config.BATCHLINE_SHARD_MAX_REQUESTS;
  if (config.BATCHLINE_JOIN_THREADS !== undefined) set.joinThreads = config.BATCHLINE_JOIN_THREADS;
  return set;
}
