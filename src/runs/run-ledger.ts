import type { Redis } from 'ioredis';
import { conditionalUpdate, decodeHash, encodeHash, type HashConditions, type UpdateOutcome } from './conditional-update.js';
import { FINAL_RUN_STATUSES, newShardState, type RunRecord, type RunStatus, type ShardRecord } from './run-record.js';

/** KEYS: shard hash, run's shard index. ARGV: shard number, then field/value pairs. 1 when written, 0 when it was there. */
const ADD_SHARD = `
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('HEXISTS', KEYS[1], 'step') == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`;

/**
 * KEYS: run hashes. Per run: its phase and shard_count, then each shard's
 * number, generation, step and batch_id (four values per shard, nil where a
 * field is missing). The shard keys are the run key plus `:shards` (the
 * index) and `:shard:N`, as shardIndexKey and shardKey build them.
 */
const READ_SWEEP_VIEWS = `
local out = {}
for i, runKey in ipairs(KEYS) do
  local view = redis.call('HMGET', runKey, 'phase', 'shard_count')
  for _, shard in ipairs(redis.call('SMEMBERS', runKey .. ':shards')) do
    for _, value in ipairs(redis.call('HMGET', runKey .. ':shard:' .. shard, 'shard', 'generation', 'step', 'batch_id')) do
      view[#view + 1] = value
    end
  end
  out[i] = view
end
return out
`;

/**
 * Shard fields left out of the shard's hash while they hold the values a
 * new shard starts with (most of them until its batch ends): a waiting
 * shard's hash holds 10 to 12 fields instead of 25, about 40 % fewer bytes
 * of Redis. Step, shard number and sizes are always stored; readers fill
 * the rest in (decodeHash, getSweepViews).
 */
const { step: _planned, ...SHARD_DEFAULTS } = newShardState();

/** What the sweeper needs of a shard: where it is, not the whole record. */
export type ShardStepView = Pick<ShardRecord, 'shard' | 'generation' | 'step' | 'batch_id'>;

/** What the sweeper needs of a run; phase null when the run's record is gone. */
export interface RunSweepView {
  runId: string;
  phase: RunRecord['phase'] | null;
  shard_count: number | null;
  /** In shard order; shards whose record has no step yet are left out, as getShards does. */
  shards: ShardStepView[];
}

export interface RunListQuery {
  pipelineId?: string;
  /** Only runs whose visible status passes this test (statuses are derived, so filtering happens after reading). */
  limit: number;
  /** Cursor: return runs created before this run id. */
  before?: string;
}

/**
 * The run ledger: runs and their shards in Redis (the same instance as
 * BullMQ, under its own key prefix). Correctness lives here, not in the
 * queue: every stage reads the ledger first and moves a shard forward only by
 * compare-and-set, so a job that runs twice finds the work already done.
 */
export class RunLedger {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private runKey = (runId: string): string => `${this.prefix}:ledger:run:${runId}`;
  private shardKey = (runId: string, shard: number): string => `${this.prefix}:ledger:run:${runId}:shard:${shard}`;
  private shardIndexKey = (runId: string): string => `${this.prefix}:ledger:run:${runId}:shards`;
  private runsIndexKey = (): string => `${this.prefix}:ledger:runs`;
  private pipelineRunsKey = (pipelineId: string): string => `${this.prefix}:ledger:pipeline:${pipelineId}:runs`;
  /** The list runs are paged through: every run, or one pipeline's. */
  private runListKey = (pipelineId: string | undefined): string => (pipelineId === undefined ? this.runsIndexKey() : this.pipelineRunsKey(pipelineId));
  private batchIndexKey = (): string => `${this.prefix}:ledger:batches`;
  private notifyClaimKey = (runId: string): string => `${this.prefix}:ledger:run:${runId}:notified`;
  /** Runs not yet final: what the sweeper walks, so its cost follows the work in flight, not the history. */
  private activeRunsKey = (): string => `${this.prefix}:ledger:active`;

  async createRun(run: RunRecord): Promise<void> {
    const score = Date.parse(run.created_at);
    const transaction = this.redis.multi().hset(this.runKey(run.id), encodeHash(run)).zadd(this.runsIndexKey(), score, run.id).sadd(this.activeRunsKey(), run.id);
    if (run.pipeline_id !== null) transaction.zadd(this.pipelineRunsKey(run.pipeline_id), score, run.id);
    await transaction.exec();
  }

  /** Removes a run that was never handed to a queue (its creation failed half-way). */
  async forgetRun(runId: string, pipelineId: string | null): Promise<void> {
    const transaction = this.redis.multi().del(this.runKey(runId)).zrem(this.runsIndexKey(), runId).srem(this.activeRunsKey(), runId);
    if (pipelineId !== null) transaction.zrem(this.pipelineRunsKey(pipelineId), runId);
    await transaction.exec();
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const fields = await this.redis.hgetall(this.runKey(runId));
    return Object.keys(fields).length === 0 ? null : decodeHash<RunRecord>(fields);
  }

  async updateRun(runId: string, patch: Partial<RunRecord>, conditions: HashConditions<RunRecord> = {}): Promise<UpdateOutcome> {
    const outcome = await conditionalUpdate<RunRecord>(this.redis, this.runKey(runId), conditions, { ...patch, updated_at: new Date().toISOString() });
    // A crash between the two writes leaves a final run in the index; the sweeper drops it when it gets there.
    if (outcome === 'applied' && patch.phase !== undefined && FINAL_RUN_STATUSES.includes(patch.phase as RunStatus)) await this.markRunInactive(runId);
    return outcome;
  }

  /** Ids of the runs that are not final yet (small: runs in flight). */
  async activeRunIds(): Promise<string[]> {
    return this.redis.smembers(this.activeRunsKey());
  }

  async markRunInactive(runId: string): Promise<void> {
    await this.redis.srem(this.activeRunsKey(), runId);
  }

  /** Run ids newest first, a page at a time. */
  async listRunIds(query: { pipelineId?: string; before?: string; count: number }): Promise<string[]> {
    const key = this.runListKey(query.pipelineId);
    let maxScore = '+inf';
    if (query.before !== undefined) {
      const score = await this.redis.zscore(key, query.before);
      if (score === null) return [];
      maxScore = `(${score}`;
    }
    return this.redis.zrevrangebyscore(key, maxScore, '-inf', 'LIMIT', 0, query.count);
  }

  /** Whether the run is in the list listRunIds pages through (every run, or the pipeline's). */
  async isListed(runId: string, pipelineId?: string): Promise<boolean> {
    return (await this.redis.zscore(this.runListKey(pipelineId), runId)) !== null;
  }

  /**
   * Records a shard once; a rebuild that reaches the same shard keeps the
   * first record. One script, so a process killed mid-call leaves either the
   * whole record or none: a record written in two steps could be left with
   * its number but no step, which every reader skips and no rebuild filled
   * in, so the run waited for that shard for ever. A record without a step
   * (left that way by an earlier version) is completed here.
   */
  async addShard(runId: string, shard: ShardRecord): Promise<boolean> {
    const fields = Object.entries(encodeHash(shard, SHARD_DEFAULTS)).flat();
    const created = (await this.redis.eval(ADD_SHARD, 2, this.shardKey(runId, shard.shard), this.shardIndexKey(runId), String(shard.shard), ...fields)) as number;
    return created === 1;
  }

  async getShard(runId: string, shard: number): Promise<ShardRecord | null> {
    const fields = await this.redis.hgetall(this.shardKey(runId, shard));
    return fields['step'] === undefined ? null : decodeHash<ShardRecord>(fields, SHARD_DEFAULTS);
  }

  async getShards(runId: string): Promise<ShardRecord[]> {
    const members = await this.redis.smembers(this.shardIndexKey(runId));
    const numbers = members.map(Number).sort((a, b) => a - b);
    if (numbers.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const shard of numbers) pipeline.hgetall(this.shardKey(runId, shard));
    const replies = (await pipeline.exec()) ?? [];
    return replies
      .map(([, fields]) => fields as Record<string, string>)
      .filter((fields) => fields['step'] !== undefined)
      .map((fields) => decodeHash<ShardRecord>(fields, SHARD_DEFAULTS));
  }

  /**
   * The sweeper's reading of many runs in one round trip: a run's phase and
   * its shards' steps only (the sweeper walks every shard in flight each pass,
   * and whole records or a round trip per run cost it more than all else).
   */
  async getSweepViews(runIds: readonly string[]): Promise<RunSweepView[]> {
    if (runIds.length === 0) return [];
    const replies = (await this.redis.eval(READ_SWEEP_VIEWS, runIds.length, ...runIds.map(this.runKey))) as Array<Array<string | null>>;
    const decode = <Value>(value: string | null | undefined): Value | null => (value === null || value === undefined ? null : (JSON.parse(value) as Value));
    return runIds.map((runId, index) => {
      const [phase, shardCount, ...flat] = replies[index] ?? [];
      const shards: ShardStepView[] = [];
      for (let at = 0; at + 3 < flat.length; at += 4) {
        const shard = decode<number>(flat[at]);
        const step = decode<ShardRecord['step']>(flat[at + 2]);
        if (shard === null || step === null) continue;
        // Absent fields hold their stored default (SHARD_DEFAULTS): generation 0, no batch.
        shards.push({ shard, generation: decode<number>(flat[at + 1]) ?? 0, step, batch_id: decode<string>(flat[at + 3]) });
      }
      shards.sort((a, b) => a.shard - b.shard);
      return { runId, phase: decode<RunRecord['phase']>(phase), shard_count: decode<number>(shardCount), shards };
    });
  }

  /** Moves a shard forward only if it is where the caller believes it is (compare-and-set). */
  async updateShard(
    runId: string,
    shard: number,
    conditions: HashConditions<ShardRecord>,
    patch: Partial<ShardRecord>,
  ): Promise<UpdateOutcome> {
    return conditionalUpdate<ShardRecord>(this.redis, this.shardKey(runId, shard), conditions, patch, SHARD_DEFAULTS);
  }

  /**
   * Claims the run's one Slack notification. Only the caller that gets true
   * posts; a crash after the claim means no post rather than two.
   */
  async claimNotification(runId: string, claimant: string): Promise<boolean> {
    return (await this.redis.set(this.notifyClaimKey(runId), claimant, 'NX')) === 'OK';
  }

  async notificationClaimed(runId: string): Promise<boolean> {
    return (await this.redis.exists(this.notifyClaimKey(runId))) === 1;
  }

  /**
   * Remembers which shard a batch belongs to, so a webhook naming only the
   * batch finds its poll job. Stored as "runId shard generation": one entry
   * per batch ever created, half the bytes of the JSON object earlier
   * versions wrote (still read).
   */
  async rememberBatch(batchId: string, ref: { runId: string; shard: number; generation: number }): Promise<void> {
    await this.redis.hset(this.batchIndexKey(), batchId, `${ref.runId} ${ref.shard} ${ref.generation}`);
  }

  async findBatch(batchId: string): Promise<{ runId: string; shard: number; generation: number } | null> {
    const value = await this.redis.hget(this.batchIndexKey(), batchId);
    if (value === null) return null;
    if (value.startsWith('{')) return JSON.parse(value) as { runId: string; shard: number; generation: number };
    const [runId = '', shard = '', generation = ''] = value.split(' ');
    return { runId, shard: Number(shard), generation: Number(generation) };
  }
}
