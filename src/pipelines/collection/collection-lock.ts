import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** Extends the lock only while it still holds our token. */
const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lock only while it still holds our token (never another collector's). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class CollectionLockLostError extends Error {
  constructor(key: string) {
    super(`the collection lock ${key} expired or was taken while collecting; this collection stops without creating a run`);
    this.name = 'CollectionLockLostError';
  }
}

/**
 * One collection per pipeline at a time, across every worker: a schedule
 * and a manual trigger may fire together, and workers scale out. A Redis
 * key set with NX and a random token, kept alive while the collection runs
 * and deleted by compare-and-delete. A collector that dies leaves the key to
 * expire after `ttlMs`, so the next collection waits at most that long.
 */
export class CollectionLock {
  private lost = false;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly token: string,
    private readonly ttlMs: number,
  ) {
    // Renew at a third of the TTL: two renewals can fail (a Redis blip) before the lock lapses.
    this.timer = setInterval(() => void this.renew().catch(() => undefined), Math.max(100, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  /** The lock, or null when another collection holds it. */
  static async acquire(redis: Redis, key: string, ttlMs: number): Promise<CollectionLock | null> {
    const token = randomBytes(12).toString('hex');
    const set = await redis.set(key, token, 'PX', ttlMs, 'NX');
    return set === 'OK' ? new CollectionLock(redis, key, token, ttlMs) : null;
  }

  /** Extends the lock now; false (and every later assertHeld throws) when it is no longer ours. */
  async renew(): Promise<boolean> {
    if (this.lost) return false;
    const renewed = (await this.redis.eval(RENEW, 1, this.key, this.token, String(this.ttlMs))) === 1;
    if (!renewed) this.lost = true;
    return renewed;
  }

  /** Throws when a renewal found the lock gone: another collector may be running by now. */
  assertHeld(): void {
    if (this.lost) throw new CollectionLockLostError(this.key);
  }

  /** Renews and checks in one step: called right before anything that must happen under the lock. */
  async confirm(): Promise<void> {
    if (!(await this.renew())) throw new CollectionLockLostError(this.key);
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    if (this.lost) return;
    await this.redis.eval(RELEASE, 1, this.key, this.token);
  }
}
