import { Redis } from 'ioredis';
import type { Logger } from '../lib/logger.js';
import { describeRedisConnectionFailure, watchRedisConnection } from './redis-connection-failure.js';
import { producerRedisOptions } from './redis-connection.js';

export class RedisRequirementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisRequirementError';
  }
}

export interface RedisSettings {
  maxmemoryPolicy: string;
  aofEnabled: boolean;
}

/** Redis could not be asked at all; the message says why, e.g. "connection refused at 127.0.0.1:6379". */
export class RedisUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnreachableError';
  }
}

/** Reads the settings from INFO, which managed Redis services allow even where CONFIG is disabled. */
export async function readRedisSettings(redis: Redis): Promise<RedisSettings> {
  watchRedisConnection(redis);
  let info: string;
  try {
    info = await redis.info();
  } catch (error) {
    if (redis.status !== 'ready') throw new RedisUnreachableError(describeRedisConnectionFailure(redis));
    throw error;
  }
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  return { maxmemoryPolicy: field('maxmemory_policy') ?? 'unknown', aofEnabled: field('aof_enabled') === '1' };
}

/**
 * BullMQ only warns about these; batchline refuses to start. An evicting
 * Redis silently drops jobs and ledger entries, and without AOF a crash
 * loses the last jobs and the record of batches already paid for.
 */
export async function checkRedisRequirements(redis: Redis, options: { allowEphemeral: boolean; logger: Logger }): Promise<RedisSettings> {
  let settings: RedisSettings;
  try {
    settings = await readRedisSettings(redis);
  } catch (error) {
    if (error instanceof RedisUnreachableError) throw new RedisRequirementError(`cannot reach Redis (REDIS_URL): ${error.message}`);
    const { host, port } = redis.options;
    throw new RedisRequirementError(`cannot read the settings of Redis at ${host ?? '127.0.0.1'}:${port ?? 6379} (REDIS_URL): ${error instanceof Error ? error.message : String(error)}`);
  }
  if (settings.maxmemoryPolicy !== 'noeviction') {
    throw new RedisRequirementError(
      `Redis maxmemory-policy is "${settings.maxmemoryPolicy}"; batchline needs "noeviction" (set "maxmemory-policy noeviction" in redis.conf or run CONFIG SET maxmemory-policy noeviction)`,
    );
  }
  if (!settings.aofEnabled) {
    if (!options.allowEphemeral) {
      throw new RedisRequirementError(
        'Redis persistence is off; batchline needs AOF ("appendonly yes" in redis.conf or CONFIG SET appendonly yes). For tests and demos only, BATCHLINE_ALLOW_EPHEMERAL_REDIS=1 runs without it',
      );
    }
    options.logger.warn('Redis runs without AOF persistence (BATCHLINE_ALLOW_EPHEMERAL_REDIS): a Redis crash can lose jobs and ledger entries');
  }
  return settings;
}

/**
 * The same check over a connection of its own, closed after. The service runs
 * it before building any client: BullMQ's queues would otherwise each print
 * their own eviction warning before batchline's refusal, and a refused start
 * leaves nothing to close.
 */
export async function checkRedisRequirementsAt(redisUrl: string, options: { allowEphemeral: boolean; logger: Logger }): Promise<RedisSettings> {
  // One attempt: the start-up check reports the first failure rather than retrying in the background.
  const redis = new Redis({ ...producerRedisOptions(redisUrl), lazyConnect: true, retryStrategy: () => null });
  watchRedisConnection(redis);
  try {
    // A refused connection is reported by the check below, with the reason the watch kept.
    await redis.connect().catch(() => undefined);
    return await checkRedisRequirements(redis, options);
  } finally {
    redis.disconnect();
  }
}
