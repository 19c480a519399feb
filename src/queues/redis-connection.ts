import type { RedisOptions as IORedisOptions } from 'ioredis';
import type { RedisOptions as BullRedisOptions } from 'bullmq';

/** ioredis options from a redis:// or rediss:// URL, for the service's own client. */
export function redisOptionsFromUrl(redisUrl: string): IORedisOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db: Number.isInteger(db) ? db : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

/** The API's client fails fast when Redis is gone instead of queueing commands in memory. */
export const producerRedisOptions = (redisUrl: string): IORedisOptions => ({
  ...redisOptionsFromUrl(redisUrl),
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
});

/** Queues used to add jobs from the API: same fail-fast rule (BullMQ builds the client from these). */
export const producerConnection = (redisUrl: string): BullRedisOptions => ({ url: redisUrl, enableOfflineQueue: false, maxRetriesPerRequest: 1 });

/** Workers block on Redis and must keep retrying through an outage (BullMQ requires null here). */
export const workerConnection = (redisUrl: string): BullRedisOptions => ({ url: redisUrl, maxRetriesPerRequest: null });
