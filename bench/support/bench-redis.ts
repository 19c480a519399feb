import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from '../../src/lib/free-port.js';
import { spawnRedisServer } from '../../src/lib/redis-process.js';

export interface BenchRedis {
  url: string;
  pid: number;
  client: Redis;
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

/** A private redis-server for one benchmark (no persistence: the bench measures the service, not fsync). */
export async function startBenchRedis(): Promise<BenchRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'batchline-bench-redis-'));
  const port = await freePort();
  const child = await spawnRedisServer({ port, dir, appendonly: false });
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: null });
  return {
    url,
    pid: child.pid ?? 0,
    client,
    async usedMemory() {
      const info = await client.info('memory');
      return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 'NaN');
    },
    async stop() {
      client.disconnect();
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
