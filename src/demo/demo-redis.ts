import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../lib/free-port.js';
import { spawnRedisServer } from '../lib/redis-process.js';

/**
 * The demo's Redis: the one at REDIS_URL (default 127.0.0.1:6379) when it
 * answers, else a redis-server of its own on a free port, removed at the end.
 */
export async function demoRedis(redisUrl: string): Promise<{ url: string; owned: boolean; stop(): Promise<void> }> {
  if (await answers(redisUrl)) return { url: redisUrl, owned: false, stop: async () => undefined };
  const dir = await mkdtemp(path.join(tmpdir(), 'batchline-demo-redis-'));
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = await spawnRedisServer({ port, dir, appendonly: false });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    owned: true,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function answers(redisUrl: string): Promise<boolean> {
  const probe = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 500 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
