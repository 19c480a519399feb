import type { Redis } from 'ioredis';
import { z } from 'zod';
import { pipelineKeys } from '../pipeline-keys.js';

/**
 * The outcome of a pipeline's latest collection, as GET /v1/pipelines shows
 * it: without it, a collection that fails (a folder missing on the worker's
 * machine, a bucket it may not list) would show only in the worker's log.
 */
export const lastCollectionSchema = z
  .object({
    finished_at: z.string().describe('when the collection (or its failed attempt) ended'),
    job_id: z.string().describe('the collect job: the job_id a trigger answered, or a scheduled one'),
    outcome: z
      .enum(['run_started', 'nothing_new', 'failed'])
      .describe('run_started: a run of the new items (run_id); nothing_new: the source had no new items, so no run; failed: see error'),
    run_id: z.string().nullable().describe('the run started with the new items; null unless run_started'),
    items: z.number().int().describe('items put into the run'),
    error: z.object({ code: z.string(), message: z.string() }).nullable().describe('why the collection failed; null unless failed'),
    will_retry: z.boolean().describe('a failed attempt that the job will try again (with backoff); false once it has given up, and on success'),
  })
  .describe('LastCollection');

export type LastCollection = z.infer<typeof lastCollectionSchema>;

/**
 * Writes the record only while the pipeline exists (a job ending after a
 * DELETE must not leave a record behind) and only when no later collection
 * has written one: collections of a pipeline take its lock one after the
 * other, but a collection that lost its lock can still end after the next
 * one has, and its older outcome must not hide the newer.
 *
 * In the same step it keeps the pipeline's health, `failing` (with since
 * when) or `healthy`, and says when that changed: the announcement of a
 * failure or a recovery is claimed here, once, whatever retries and
 * repeated ticks come after. A pipeline's first collection that succeeds is
 * no change (nothing to recover from); its first that fails is.
 *
 * ARGV: pipeline id, started_us, the record, its health (failing, healthy
 * or keep: a failed attempt that will be retried changes nothing yet), and
 * when it ended. Returns 0 (not written), 1 (written, no change),
 * 2 (now failing) or {3, failing since} (recovered).
 */
const RECORD = `
if redis.call('hexists', KEYS[1], ARGV[1]) == 0 then return 0 end
local latest = tonumber(redis.call('hget', KEYS[2], 'started_us'))
if latest ~= nil and latest > tonumber(ARGV[2]) then return 0 end
redis.call('hset', KEYS[2], 'started_us', ARGV[2], 'outcome', ARGV[3])
if ARGV[4] == 'keep' then return 1 end
local since = redis.call('hget', KEYS[2], 'failing_since')
if ARGV[4] == 'failing' then
  if since then return 1 end
  redis.call('hset', KEYS[2], 'failing_since', ARGV[5])
  return 2
end
if not since then return 1 end
redis.call('hdel', KEYS[2], 'failing_since')
return {3, since}`;

/** How a pipeline's health moved with a collection's record: the moments worth a Slack message. */
export type HealthChange = { to: 'failing' } | { to: 'recovered'; failingSince: string };

export type RecordOutcome = { written: false } | { written: true; change: HealthChange | null };

/**
 * What a collection says of the pipeline's health: a failure it has given
 * up on makes it failing; one the job will try again says nothing yet (a
 * retry that mends it is not worth waking anyone); a success makes it healthy.
 */
const healthOf = (collection: LastCollection): 'failing' | 'healthy' | 'keep' => {
  if (collection.outcome !== 'failed') return 'healthy';
  return collection.will_retry ? 'keep' : 'failing';
};

/** Each pipeline's latest collection: one small hash per pipeline, overwritten, never a growing history. */
export class LastCollections {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Now on Redis's clock, in microseconds: the order of collections that
   * ran on workers whose own clocks disagree. A collection takes it once it
   * holds the pipeline's lock, so the stamps follow the lock's order.
   */
  async clock(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1_000_000 + Number(micros);
  }

  /**
   * Records the collection that started at `startedUs` (from `clock`); not
   * written when the pipeline is gone or a later collection recorded
   * first. Says when the pipeline's health changed with it.
   */
  async record(pipelineId: string, startedUs: number, collection: LastCollection): Promise<RecordOutcome> {
    const reply = await this.redis.eval(
      RECORD,
      2,
      pipelineKeys.index(this.prefix),
      pipelineKeys.lastCollection(this.prefix, pipelineId),
      pipelineId,
      String(startedUs),
      JSON.stringify(collection),
      healthOf(collection),
      collection.finished_at,
    );
    if (reply === 0) return { written: false };
    if (reply === 2) return { written: true, change: { to: 'failing' } };
    if (Array.isArray(reply)) return { written: true, change: { to: 'recovered', failingSince: String(reply[1]) } };
    return { written: true, change: null };
  }

  async get(pipelineId: string): Promise<LastCollection | null> {
    return parse(await this.redis.hget(pipelineKeys.lastCollection(this.prefix, pipelineId), 'outcome'));
  }

  /** The records of many pipelines in one round trip (the list route). */
  async getMany(pipelineIds: readonly string[]): Promise<Map<string, LastCollection>> {
    const found = new Map<string, LastCollection>();
    if (pipelineIds.length === 0) return found;
    const pipeline = this.redis.pipeline();
    for (const id of pipelineIds) pipeline.hget(pipelineKeys.lastCollection(this.prefix, id), 'outcome');
    const replies = (await pipeline.exec()) ?? [];
    for (const [index, id] of pipelineIds.entries()) {
      const [error, value] = replies[index] ?? [null, null];
      if (error !== null) throw error;
      const collection = parse(typeof value === 'string' ? value : null);
      if (collection !== null) found.set(id, collection);
    }
    return found;
  }
}

const parse = (value: string | null): LastCollection | null => (value === null ? null : (JSON.parse(value) as LastCollection));
