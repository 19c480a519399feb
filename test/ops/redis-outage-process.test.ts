import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../bin/batchline.js', import.meta.url));
/** How long Redis stays stopped: the outage that used to log about a hundred error lines per process. */
const OUTAGE_MS = 8_000;

type LogRecord = Record<string, unknown>;

/** A `batchline worker` process whose JSON log lines are read as they come. */
interface ServiceProcess {
  child: ChildProcess;
  logs: LogRecord[];
  /** Resolves with the first record whose msg includes the text (already logged or still to come). */
  waitForLog(text: string): Promise<LogRecord>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function spawnService(env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogRecord[] = [];
  const waiters = new Set<{ text: string; resolve: (record: LogRecord) => void }>();
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      const record = JSON.parse(line) as LogRecord;
      logs.push(record);
      for (const waiter of waiters) {
        if (String(record['msg']).includes(waiter.text)) {
          waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  // 'close', not 'exit': only then has every line been read.
  const exited = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stderr }));
  return {
    child,
    logs,
    exited,
    waitForLog(text) {
      const seen = logs.find((record) => String(record['msg']).includes(text));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.add({ text, resolve });
        void exited.then(({ code }) => reject(new Error(`the process exited (${String(code)}) before logging "${text}":\n${JSON.stringify(logs)}\n${stderr}`)));
      });
    },
  };
}

describe('a worker process through a Redis outage', () => {
  let redis: TestRedis;
  let tmp: string;
  const started: ServiceProcess[] = [];
  const serviceEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: redis.url,
    OPENAI_API_KEY: 'sk-test',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    BATCHLINE_PREFIX: `outage${started.length}`,
    LOG_LEVEL: 'info',
    STORAGE_URL: `file://${tmp}/data`,
    TMPDIR: tmp,
    ...extra,
  });
  const start = (extra?: Record<string, string>): ServiceProcess => {
    const service = spawnService(serviceEnv(extra));
    started.push(service);
    return service;
  };

  before(async () => {
    redis = await startRedis();
    tmp = await mkdtemp(path.join(tmpdir(), 'batchline-outage-'));
  });
  after(async () => {
    for (const service of started) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    await redis.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('logs a lost connection once, and once when it is back, not once per reconnect attempt', async (context) => {
    const service = start();
    await service.waitForLog('batchline workers started');
    const before = service.logs.length;
    await redis.kill();
    const lost = await service.waitForLog('Redis connection lost');
    assert.match(String(lost['cause']), /^connection (reset|refused)$/);
    // The outage itself: the length of time being tested, not a wait for something to happen.
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    await redis.restart();
    const back = await service.waitForLog('Redis connection back');
    const during = service.logs.slice(before);
    const errorLines = during.filter((record) => Number(record['level']) >= 50);
    const warnLines = during.filter((record) => Number(record['level']) === 40);
    context.diagnostic(`${OUTAGE_MS} ms outage: ${errorLines.length} error lines, ${warnLines.length} warn lines, ${String(back['errors'])} failed attempts counted`);
    assert.deepEqual(errorLines.map((record) => record['msg']), ['Redis connection lost; retrying until it is back'], JSON.stringify(during));
    // Under the 30 s repeat interval no "still unreachable"; a stage that meets the outage may say so once (a sweep that failed).
    assert.ok(!warnLines.some((record) => String(record['msg']).includes('still unreachable')), JSON.stringify(warnLines));
    assert.ok(during.length <= 6, `${during.length} lines for one outage: ${JSON.stringify(during)}`);
    assert.ok(!during.some((record) => record['msg'] === 'worker error' || record['msg'] === 'redis connection error'), JSON.stringify(during));
    assert.ok(Number(back['errors']) > 1, 'the attempts were counted, not logged');
    assert.ok(Number(back['down_ms']) >= OUTAGE_MS);
    service.child.kill('SIGTERM');
    assert.equal((await service.exited).code, 0);
  });
});
