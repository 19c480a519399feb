import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLOSE_ALLOWANCE_MS } from '../../src/cli.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.js';
import type { RunView } from '../../src/runs/run-view.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../bin/batchline.js', import.meta.url));
/** How long Redis stays stopped: the outage that used to log about a hundred error lines per process. */
const OUTAGE_MS = 8_000;

type LogRecord = Record<string, unknown>;

/** A `batchline` process whose JSON log lines are read as they come. */
interface ServiceProcess {
  child: ChildProcess;
  logs: LogRecord[];
  /** Resolves with the first record whose msg includes the text (already logged or still to come). */
  waitForLog(text: string): Promise<LogRecord>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

function spawnService(role: 'all' | 'worker', env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [BIN, role], {
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

describe('a batchline process through a Redis outage, and its shutdown', () => {
  let redis: TestRedis;
  let emulator: RunningEmulator;
  let tmp: string;
  const started: ServiceProcess[] = [];
  const serviceEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    REDIS_URL: redis.url,
    OPENAI_API_KEY: emulator.apiKey,
    OPENAI_BASE_URL: emulator.baseURL,
    HOST: '127.0.0.1',
    PORT: '0',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    BATCHLINE_PREFIX: `outage${started.length}`,
    LOG_LEVEL: 'info',
    STORAGE_URL: `file://${tmp}/data`,
    TMPDIR: tmp,
    ...extra,
  });
  const start = (role: 'all' | 'worker', extra?: Record<string, string>): ServiceProcess => {
    const service = spawnService(role, serviceEnv(extra));
    started.push(service);
    return service;
  };

  before(async () => {
    redis = await startRedis();
    emulator = await startEmulator({ logLevel: 'silent' });
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
    await emulator.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('logs a lost connection once, and once when it is back, not once per reconnect attempt', async (context) => {
    const service = start('worker');
    await service.waitForLog('batchline workers started');
    const before = service.logs.length;
    await redis.kill();
    const lost = await service.waitForLog('Redis connection lost');
    assert.match(String(lost['cause']), /^connection (reset|refused|closed)$/);
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

  it('SIGTERM, then Redis killed mid-shutdown: the process still exits, within the grace period and a bounded close', async (context) => {
    const graceMs = 3_000;
    // The upload outlasts the grace period, so a submit job is running when Redis goes.
    emulator.faults.latencyMs = 8_000;
    emulator.faults.operations = ['createFile'];
    const service = start('all', { BATCHLINE_SHUTDOWN_GRACE_MS: String(graceMs) });
    const listening = await service.waitForLog('batchline API listening');
    await service.waitForLog('batchline workers started');
    // As in the field: the process had been through an outage and a restart before.
    await redis.kill();
    await service.waitForLog('Redis connection lost');
    await redis.restart();
    await service.waitForLog('Redis connection back');
    const posted = await fetch(`${String(listening['url'])}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ template: { type: 'summarize' }, items: [{ id: 'a1', text: 'Something to say.' }] }),
    });
    assert.equal(posted.status, 202, await posted.clone().text());
    const run = (await posted.json()) as RunView;
    // The upload has begun once the emulator holds its request.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const view = (await (await fetch(`${String(listening['url'])}/v1/runs/${run.id}`)).json()) as RunView;
      if (view.status === 'submitting') break;
      assert.ok(Date.now() < deadline, `run still ${view.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    await service.waitForLog('shutting down');
    // Redis goes in the middle of the grace period, as in the field (there, 3 s into 60 s).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await redis.kill();
    const { code } = await service.exited;
    const elapsedMs = Date.now() - signalledAt;
    context.diagnostic(`SIGTERM to exit with Redis killed mid-shutdown: ${elapsedMs} ms, exit code ${String(code)}`);
    const logs = JSON.stringify(service.logs.slice(-20));
    // Never past the grace period and the closing allowance; normally closed, else forced closed and said so.
    assert.ok(elapsedMs < graceMs + CLOSE_ALLOWANCE_MS + 2_000, `exit took ${elapsedMs} ms; logs: ${logs}`);
    if (code !== 0) {
      assert.equal(code, 1, logs);
      assert.ok(service.logs.some((record) => String(record['msg']).startsWith('shutdown did not finish')), logs);
    }
    await redis.restart();
  });

  it('a close that never finishes is cut off after the grace period and the closing allowance: connections dropped, one line naming it, exit 1', async (context) => {
    const graceMs = 500;
    const service = start('worker', { BATCHLINE_SHUTDOWN_GRACE_MS: String(graceMs), BATCHLINE_TEST_PAUSE_AT: 'shutdown:close-connections' });
    await service.waitForLog('batchline workers started');
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    await service.waitForLog('paused at a test pause point');
    const { code } = await service.exited;
    const elapsedMs = Date.now() - signalledAt;
    context.diagnostic(`SIGTERM to forced exit: ${elapsedMs} ms`);
    const logs = JSON.stringify(service.logs);
    assert.equal(code, 1, logs);
    assert.ok(elapsedMs >= graceMs + CLOSE_ALLOWANCE_MS, `cut off after ${elapsedMs} ms, before its bound`);
    assert.ok(elapsedMs < graceMs + CLOSE_ALLOWANCE_MS + 2_000, `exit took ${elapsedMs} ms`);
    const forced = service.logs.filter((record) => String(record['msg']).startsWith('shutdown did not finish'));
    assert.equal(forced.length, 1, logs);
    assert.equal(forced[0]?.['level'], 50);
    assert.equal(forced[0]?.['msg'], `shutdown did not finish within ${graceMs + CLOSE_ALLOWANCE_MS} ms; forced closed what was still open: queues and Redis connections`);
    assert.deepEqual(forced[0]?.['unfinished'], ['queues and Redis connections']);
    assert.ok(!service.logs.some((record) => record['msg'] === 'stopped'), logs);
  });
});
