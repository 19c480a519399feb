import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis } from '../helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../bin/batchline.js', import.meta.url));

describe('batchline demo, interrupted', () => {
  it('Ctrl-C mid-run stops the service, removes its keys from a shared Redis and exits 130', async () => {
    const redis = await startRedis();
    const cwd = await mkdtemp(path.join(tmpdir(), 'batchline-demo-interrupt-'));
    const client = new Redis(redis.url);
    try {
      const child = spawn(process.execPath, [BIN, 'demo'], {
        cwd,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', REDIS_URL: redis.url, STORAGE_URL: `file://${cwd}/data` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
      // Interrupt once the first run is under way: its keys are in Redis by then.
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          if (/run_\w+: \w+/.test(output)) {
            child.stdout.off('data', onData);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
        void exited.then(() => reject(new Error(`the demo ended before it was interrupted:\n${output}`)));
      });
      assert.ok((await client.keys('batchline-demo-*')).length > 0, 'the demo had keys in Redis');
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.kill('SIGINT');
      const [code] = await exited;
      assert.equal(code, 130, output);
      assert.match(output, /Interrupted \(SIGINT\): stopping and cleaning up/);
      assert.deepEqual(await client.keys('batchline-demo-*'), []);
    } finally {
      client.disconnect();
      await redis.stop();
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
