import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort, startRedis } from '../helpers/redis-server.js';

const BIN = fileURLToPath(new URL('../../bin/batchline.js', import.meta.url));

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function batchline(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The service environment against a test Redis: a placeholder OpenAI key, loopback, errors only in the log. */
const serviceEnv = (redisUrl: string, tmp: string): Record<string, string> => ({
  REDIS_URL: redisUrl,
  OPENAI_API_KEY: 'sk-test',
  BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
  LOG_LEVEL: 'error',
  HOST: '127.0.0.1',
  STORAGE_URL: `file://${tmp}/data`,
  // The process's own temporary folder, so a test sees whatever it leaves behind.
  TMPDIR: tmp,
});

/** The work folders a process left in its temporary folder (tsx keeps its cache there too). */
async function workFolders(tmp: string): Promise<string[]> {
  return (await readdir(tmp)).filter((name) => name.startsWith('batchline-work-'));
}

/** A refusal is one line naming the cause, never a stack trace. */
function assertOneLineRefusal(outcome: Outcome, pattern: RegExp): void {
  assert.equal(outcome.code, 2, `${outcome.stdout}\n${outcome.stderr}`);
  assert.match(outcome.stderr, pattern);
  assert.doesNotMatch(outcome.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(outcome.stderr, /node:internal|Error:/);
}

describe('the batchline command', () => {
  it('prints usage, and refuses an unknown command with a non-zero exit', async () => {
    const help = await batchline(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Commands:[\s\S]*demo/);
    const unknown = await batchline(['launch']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "launch"/);
    // No command is a usage error like any other: stderr and exit code 2, nothing on stdout.
    const none = await batchline([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /^batchline: no command given\n\nUsage: batchline <command>/);
  });

  it('refuses unknown options and extra arguments with the usage, and prints its version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-v']) {
      const printed = await batchline([flag]);
      assert.equal(printed.code, 0);
      assert.equal(printed.stdout, `${version}\n`);
    }
    // Refused before anything starts: no Redis is needed to see it.
    for (const [args, named] of [
      [['api', '--port', '4000'], /api: Unknown option '--port'/],
      [['worker', '--port', '5'], /worker: Unknown option '--port'/],
      [['all', '--verbose'], /all: Unknown option '--verbose'/],
      [['demo', '--bogus'], /demo: Unknown option '--bogus'/],
      [['worker', 'now'], /worker: Unexpected argument 'now'/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--version', 'api'], /Unexpected argument 'api'/],
    ] as const) {
      const refused = await batchline([...args]);
      assert.equal(refused.code, 2, args.join(' '));
      assert.match(refused.stderr, named);
      assert.match(refused.stderr, /Usage: batchline <command>/);
    }
    const help = await batchline(['worker', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: batchline <command>/);
    // The emulator keeps its own options.
    const emulatorHelp = await batchline(['emulator', '--help']);
    assert.equal(emulatorHelp.code, 0);
    assert.match(emulatorHelp.stdout, /--port N/);
    const emulatorRefused = await batchline(['emulator', '--prot', '4010']);
    assert.equal(emulatorRefused.code, 2);
  });

  it('refuses a port in use or an address not of this machine in one line naming PORT or HOST (the emulator: --port), exit code 2, after closing what it started', async () => {
    const redis = await startRedis();
    const tmp = await mkdtemp(path.join(tmpdir(), 'batchline-cli-listen-'));
    const taken = createServer().listen(0, '127.0.0.1');
    try {
      await once(taken, 'listening');
      const address = taken.address();
      assert.ok(address !== null && typeof address === 'object');
      for (const role of ['api', 'all']) {
        const refused = await batchline([role], { ...serviceEnv(redis.url, tmp), PORT: String(address.port) });
        assertOneLineRefusal(refused, new RegExp(`batchline: PORT=${address.port}: 127\\.0\\.0\\.1:${address.port} is already in use`));
      }
      // The emulator refuses the same way, naming its own flag.
      const emulator = await batchline(['emulator', '--port', String(address.port)]);
      assertOneLineRefusal(emulator, new RegExp(`^batchline emulator: --port ${address.port}: 127\\.0\\.0\\.1:${address.port} is already in use by another process \\(stop it, or set another --port\\)\n$`));
      assert.equal(emulator.stdout, '');
      // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
      const elsewhere = await batchline(['all'], { ...serviceEnv(redis.url, tmp), HOST: '192.0.2.1', PORT: String(await freePort()) });
      assertOneLineRefusal(elsewhere, /batchline: HOST=192\.0\.2\.1: not an address of this machine/);
      const mistyped = await batchline(['api'], { ...serviceEnv(redis.url, tmp), HOST: '999.1.1.1' });
      assertOneLineRefusal(mistyped, /HOST="999\.1\.1\.1": must be an IP address or a host name/);
      // What had started was closed on the way out, down to the work folder.
      assert.deepEqual(await workFolders(tmp), []);
    } finally {
      taken.close();
      await redis.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('says why Redis cannot be reached, and refuses an evicting Redis in its own words before BullMQ warns', async () => {
    const tmp = await mkdtemp(path.join(tmpdir(), 'batchline-cli-redis-'));
    const redis = await startRedis();
    try {
      const port = await freePort();
      const unreachable = await batchline(['worker'], serviceEnv(`redis://127.0.0.1:${port}`, tmp));
      assertOneLineRefusal(unreachable, new RegExp(`cannot reach Redis \\(REDIS_URL\\): connection refused at 127\\.0\\.0\\.1:${port}`));
      assert.doesNotMatch(unreachable.stderr, /enableOfflineQueue/);

      const admin = new Redis(redis.port, '127.0.0.1');
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      admin.disconnect();
      const evicting = await batchline(['all'], { ...serviceEnv(redis.url, tmp), PORT: '0' });
      assertOneLineRefusal(evicting, /maxmemory-policy is "allkeys-lru"; batchline needs "noeviction"/);
      assert.doesNotMatch(`${evicting.stdout}${evicting.stderr}`, /IMPORTANT!/);
      assert.deepEqual(await workFolders(tmp), []);
    } finally {
      await redis.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('removes its own work folder on SIGTERM', async () => {
    const redis = await startRedis();
    const tmp = await mkdtemp(path.join(tmpdir(), 'batchline-cli-workdir-'));
    try {
      const child = spawn(process.execPath, [BIN, 'all'], {
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...serviceEnv(redis.url, tmp), PORT: '0', LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const closed = once(child, 'close');
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          output += chunk.toString();
          if (output.includes('batchline workers started')) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        void closed.then(() => reject(new Error(`batchline all exited before its workers started:\n${output}`)));
      });
      assert.deepEqual(await workFolders(tmp), [`batchline-work-${child.pid}`]);
      child.kill('SIGTERM');
      const [code] = await closed;
      assert.equal(code, 0, output);
      assert.deepEqual(await workFolders(tmp), []);
    } finally {
      await redis.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('refuses to start on a bad variable, naming it', async () => {
    const bad = await batchline(['api'], { PORT: 'eighty', STORAGE_URL: 'ftp://x' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PORT/);
    assert.match(bad.stderr, /STORAGE_URL/);
  });

  it('refuses to start without an OpenAI key unless pointed at an emulator', async () => {
    const noKey = await batchline(['all'], {});
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /OPENAI_API_KEY is not set/);
  });

  it('refuses a Redis without persistence, naming the setting to change', async () => {
    const redis = await startRedis();
    try {
      const refused = await batchline(['worker'], { REDIS_URL: redis.url, OPENAI_API_KEY: 'sk-test', LOG_LEVEL: 'silent' });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /appendonly yes/);
    } finally {
      await redis.stop();
    }
  });

  it('runs the demo end to end and exits 0', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'batchline-demo-'));
    try {
      // A blank LOG_LEVEL is unset, as for the service: the demo's own quiet default applies, not the service's info.
      const demo = await batchline(['demo'], { STORAGE_URL: `file://${cwd}/data`, LOG_LEVEL: '' }, cwd);
      assert.equal(demo.code, 0, `${demo.stdout}\n${demo.stderr}`);
      assert.doesNotMatch(demo.stdout, /"level":30/, 'no info log lines among the demo\'s output');
      assert.match(demo.stdout, /Run run_\w+ succeeded: 12 of 12 items succeeded/);
      assert.match(demo.stdout, /Flagged: 3 images\./);
      assert.match(demo.stdout, /Demo succeeded\./);
      const runs = await readdir(path.join(cwd, 'data', 'runs'));
      assert.equal(runs.length, 2);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
