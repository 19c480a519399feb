import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { freePort } from '../../src/lib/free-port.js';
import { spawnRedisServer } from '../../src/lib/redis-process.js';

export { freePort };

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** SIGKILL: what a crash looks like to the service. */
  kill(): Promise<void>;
  /** Starts redis-server again on the same port and folder (AOF replays when on). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a real redis-server on a free loopback port, as CI and developers have it installed. */
export async function startRedis(options: { appendonly?: boolean } = {}): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'batchline-redis-'));
  const port = await freePort();
  const spawnOptions = { port, dir, appendonly: options.appendonly === true };
  let child = await spawnRedisServer(spawnOptions);
  const handle: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get process() {
      return child;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    },
    async restart() {
      await handle.kill();
      child = await spawnRedisServer(spawnOptions);
    },
    async stop() {
      await handle.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}
