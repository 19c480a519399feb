import type { Redis } from 'ioredis';

/**
 * Each model has an organisation-wide limit on enqueued batch tokens that
 * the API does not expose; batches over it are accepted and then fail. The
 * budget learns the limit from those failures and keeps the tokens of live
 * batches per model, so later shards wait for headroom instead of failing.
 * Shared by every worker through Redis; reserve is atomic.
 */
const RESERVE = `
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 1 end
if limit then
  local used = 0
  for _, tokens in ipairs(redis.call('HVALS', KEYS[2])) do used = used + tonumber(tokens) end
  -- An empty budget always admits one shard, however large: it could never fit otherwise.
  if used > 0 and used + tonumber(ARGV[2]) > limit then return 0 end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`;

export class TokenBudget {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private limitKey = (model: string): string => `${this.prefix}:budget:${model}`;
  private liveKey = (model: string): string => `${this.prefix}:budget:${model}:live`;

  /** Holds room for a shard's tokens; false when the model's known limit has no room now. */
  async reserve(model: string, holder: string, tokens: number): Promise<boolean> {
    return (await this.redis.eval(RESERVE, 2, this.limitKey(model), this.liveKey(model), holder, String(tokens))) === 1;
  }

  /** Frees a shard's room once its batch is terminal (safe to repeat). */
  async release(model: string, holder: string): Promise<void> {
    await this.redis.hdel(this.liveKey(model), holder);
  }

  async learnLimit(model: string, limit: number): Promise<void> {
    await this.redis.hset(this.limitKey(model), 'limit', String(limit));
  }

  async limitOf(model: string): Promise<number | null> {
    const value = await this.redis.hget(this.limitKey(model), 'limit');
    return value === null ? null : Number(value);
  }
}

/** The budget holder name of a shard: one reservation per shard, whatever its generation. */
export const budgetHolder = (ref: { runId: string; shard: number }): string => `${ref.runId}:${ref.shard}`;
