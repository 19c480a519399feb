import type { Redis } from 'ioredis';
import type { PipelineDefinition } from './pipeline-definition.js';
import { pipelineKeys } from './pipeline-keys.js';

/** Who last defined a pipeline: the HTTP API, or PIPELINES_FILE at start (which may later prune what it defined). */
export type PipelineOrigin = 'api' | 'file';

export interface PipelineRecord {
  id: string;
  definition: PipelineDefinition;
  origin: PipelineOrigin;
  created_at: string;
  updated_at: string;
}

/** Pipeline definitions in one Redis hash (id → JSON): few, small, and read whole by the list route. */
export class PipelineStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.key = pipelineKeys.index(prefix);
  }

  async get(id: string): Promise<PipelineRecord | null> {
    const value = await this.redis.hget(this.key, id);
    return value === null ? null : (JSON.parse(value) as PipelineRecord);
  }

  /** Every pipeline, by id. */
  async list(): Promise<PipelineRecord[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all)
      .map((value) => JSON.parse(value) as PipelineRecord)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async put(record: PipelineRecord): Promise<void> {
    await this.redis.hset(this.key, record.id, JSON.stringify(record));
  }

  /** True when the pipeline existed. */
  async delete(id: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, id)) === 1;
  }
}
