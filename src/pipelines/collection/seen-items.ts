import type { Redis } from 'ioredis';

/** Items marked seen per HSET: large enough to be quick, small enough not to block Redis. */
export const SEEN_CHUNK = 500;

/**
 * What a pipeline has collected: a Redis hash of item key → the version
 * collected (an S3 ETag, or size-mtime for a file). An item is new when its
 * key is absent or its version differs, which is exact: no time window, no
 * watermark, so objects sharing a LastModified second are never missed and
 * an overwritten object is collected again.
 */
export class SeenItems {
  constructor(
    private readonly redis: Redis,
    readonly key: string,
  ) {}

  /** The version last collected of each key (null: never collected), in the order given. */
  async versionsOf(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return this.redis.hmget(this.key, ...keys);
  }

  async mark(entries: ReadonlyArray<{ key: string; version: string }>): Promise<void> {
    if (entries.length === 0) return;
    await this.redis.hset(this.key, Object.fromEntries(entries.map((entry) => [entry.key, entry.version])));
  }

  /**
   * Marks items seen from NDJSON lines of `{ key, version, … }`, SEEN_CHUNK
   * at a time; `afterChunk` runs after each write (progress, test pause points).
   */
  async markFromLines(lines: AsyncIterable<string>, afterChunk: (marked: number) => Promise<void> = async () => undefined): Promise<number> {
    let chunk: Array<{ key: string; version: string }> = [];
    let marked = 0;
    for await (const line of lines) {
      const item = JSON.parse(line) as { key: string; version: string };
      chunk.push({ key: item.key, version: item.version });
      if (chunk.length >= SEEN_CHUNK) {
        await this.mark(chunk);
        marked += chunk.length;
        chunk = [];
        await afterChunk(marked);
      }
    }
    if (chunk.length > 0) {
      await this.mark(chunk);
      marked += chunk.length;
      await afterChunk(marked);
    }
    return marked;
  }
}
