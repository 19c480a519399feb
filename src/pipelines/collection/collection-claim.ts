import type { Redis } from 'ioredis';

export interface CollectionClaimRecord {
  /** The collect job that created the run. */
  job_id: string;
  run_id: string;
  claimed_at: string;
}

/** How long an unfinished claim is kept; far beyond any retry, yet never forever. */
const CLAIM_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The bridge between "run recorded" and "its items marked seen", which
 * cannot be one Redis step (the items are many). Written before the run is
 * created, cleared once every item is marked. The next collection of the
 * pipeline — a repeat delivery of the same job, or any later one — finds an
 * uncleared claim under the pipeline lock and finishes it first: marks the
 * run's items seen when the run exists, drops the claim when it does not
 * (the run was never recorded, so its items are still new). Hence nothing
 * is lost and nothing collected twice, whichever step a collector dies at.
 */
export class CollectionClaim {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  async get(): Promise<CollectionClaimRecord | null> {
    const value = await this.redis.get(this.key);
    return value === null ? null : (JSON.parse(value) as CollectionClaimRecord);
  }

  async set(record: CollectionClaimRecord): Promise<void> {
    await this.redis.set(this.key, JSON.stringify(record), 'EX', CLAIM_TTL_SECONDS);
  }

  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}
