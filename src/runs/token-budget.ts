import type { Redis } from 'ioredis';
import type { Tuning } from '../tuning.js';
import type { ShardRecord } from './run-record.js';

type ShardError = NonNullable<ShardRecord['error']>;

/**
 * Each model has an organisation-wide limit on enqueued batch tokens that
 * the API does not expose; batches over it are accepted and then fail. The
 * budget learns the limit from those failures and keeps the tokens of live
 * batches per model, so later shards wait for headroom instead of failing.
 * Shared by every worker through Redis; reserve is atomic.
 *
 * Returns {reserved (1 or 0), tokens other holders hold, limit or -1}.
 */
const RESERVE = `
local limit = tonumber(redis.call('HGET', KEYS[1], 'limit'))
local others = 0
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  if entries[i] ~= ARGV[1] then others = others + tonumber(entries[i + 1]) end
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return {1, others, limit or -1} end
-- An empty budget always admits one shard, however large: it could never fit otherwise.
if limit and others > 0 and others + tonumber(ARGV[2]) > limit then return {0, others, limit} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {1, others, limit or -1}
`;

/**
 * What a reservation found: room held (alone: no other batch of this service
 * holds any of the model's budget, so a token_limit_exceeded would be the
 * shard's own size, or other users of the organisation), or no room until
 * other batches end.
 */
export type Reservation = { kind: 'reserved'; alone: boolean } | { kind: 'no-room'; limit: number };

export class TokenBudget {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private limitKey = (model: string): string => `${this.prefix}:budget:${model}`;
  private liveKey = (model: string): string => `${this.prefix}:budget:${model}:live`;

  /** Holds room for a shard's tokens under the model's known limit (a holder already holding room keeps it). */
  async reserve(model: string, holder: string, tokens: number): Promise<Reservation> {
    const [reserved, others, limit] = (await this.redis.eval(RESERVE, 2, this.limitKey(model), this.liveKey(model), holder, String(tokens))) as [number, number, number];
    return reserved === 1 ? { kind: 'reserved', alone: others === 0 } : { kind: 'no-room', limit };
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

/**
 * Why a shard that needs room under its model's enqueued-token limit must end
 * now rather than wait (it is over the whole limit, or has waited the whole
 * bound); null while waiting can still help. `limit` is the one known now.
 */
export function tokenLimitRefusal(
  shard: Pick<ShardRecord, 'shard' | 'model' | 'estimated_tokens' | 'token_wait_since' | 'over_token_limit'>,
  limit: number | null,
  tuning: Pick<Tuning, 'shardMaxRequests' | 'tokenWaitMaxMs'>,
  now = Date.now(),
): ShardError | null {
  const model = shard.model ?? 'the model';
  const tokens = shard.estimated_tokens.toLocaleString('en-US');
  const shrink = `lower BATCHLINE_SHARD_MAX_REQUESTS (now ${tuning.shardMaxRequests.toLocaleString('en-US')} requests a shard) so each shard fits, and run these items again`;
  // The evidence is about the generation OpenAI refused; one that sends fewer requests than the
  // limit holds is judged afresh (by the wait bound, or by OpenAI again).
  if (shard.over_token_limit !== null && shard.estimated_tokens > shard.over_token_limit) {
    return {
      code: 'shard_over_token_limit',
      message: `shard ${shard.shard} needs about ${tokens} enqueued tokens, more than ${model}'s enqueued-token limit of ${shard.over_token_limit.toLocaleString('en-US')}: OpenAI refused it with no other batch of this service enqueued, and waiting cannot make room for it; ${shrink}`,
    };
  }
  if (shard.token_wait_since !== null && now - shard.token_wait_since >= tuning.tokenWaitMaxMs) {
    const hours = Math.round((now - shard.token_wait_since) / 360_000) / 10;
    const limitText = limit === null ? '' : ` of ${limit.toLocaleString('en-US')}`;
    return {
      code: 'token_limit_wait_exceeded',
      message: `shard ${shard.shard} (about ${tokens} tokens) waited ${hours} h for room under ${model}'s enqueued-token limit${limitText} and got none: other batches of the organisation hold it; run these items again later, or ${shrink}`,
    };
  }
  return null;
}
