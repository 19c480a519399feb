import type { Logger } from '../lib/logger.js';
import { describeConnectionError, isRedisConnectionError } from './redis-connection-failure.js';

/** While Redis stays unreachable, how often the outage is logged again (with the count of failed attempts). */
const OUTAGE_REPEAT_MS = 30_000;

/** A BullMQ worker or queue: its errors, and its backend's `ready`, which fires each time one of its connections is back. */
interface BullClient {
  on(event: 'error', listener: (error: Error) => void): unknown;
  backend: { on(event: 'ready', listener: () => void): unknown };
}

interface Outage {
  since: number;
  /** Connection errors heard since the outage began, from every client of the process. */
  errors: number;
  lastLoggedAt: number;
  cause: string;
}

/**
 * One process's account of lost Redis connections. Each client (the
 * service's own, every worker's, every queue's) reports each failed
 * reconnect attempt, a few a second per client: logged one by one, a short
 * outage became a hundred error lines per process. Here an outage is logged
 * once when it begins, at most every `repeatEveryMs` while it lasts (with a
 * count), and once when the connection is back.
 */
export class RedisOutageLog {
  private outage: Outage | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly repeatEveryMs = OUTAGE_REPEAT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a client's error; false when it is not about the connection, for the caller to log as its own. */
  report(error: Error, source: string): boolean {
    if (!isRedisConnectionError(error)) return false;
    const now = this.now();
    const cause = describeConnectionError(error);
    if (this.outage === null) {
      this.outage = { since: now, errors: 1, lastLoggedAt: now, cause };
      this.logger.error({ source, cause, err: error.message }, 'Redis connection lost; retrying until it is back');
      return true;
    }
    const outage = this.outage;
    outage.errors += 1;
    outage.cause = cause;
    if (now - outage.lastLoggedAt >= this.repeatEveryMs) {
      outage.lastLoggedAt = now;
      this.logger.warn({ cause, errors: outage.errors, down_ms: now - outage.since }, 'Redis still unreachable');
    }
    return true;
  }

  /**
   * Reports a worker's or queue's connection errors, and ends the outage when
   * one of its connections is ready again: an outage opened by one socket
   * (an ECONNRESET on a worker's connection while the service's own client
   * stayed up) is closed by that socket's reconnect, not left open for good.
   * Other errors go to `onOtherError`.
   */
  watch(client: BullClient, source: string, onOtherError: (error: Error) => void): void {
    client.on('error', (error) => {
      if (!this.report(error, source)) onOtherError(error);
    });
    client.backend.on('ready', () => this.connected());
  }

  /** A reporting client is connected again (any of them: one line per outage, not per client): the outage, if any, is over. */
  connected(): void {
    const outage = this.outage;
    if (outage === null) return;
    this.outage = null;
    this.logger.info({ errors: outage.errors, down_ms: this.now() - outage.since }, 'Redis connection back');
  }
}
