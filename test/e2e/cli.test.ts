import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../helpers/redis-server.js';

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

describe('the batchline command', () => {
  it('prints usage, and refuses an unknown command with a non-zero exit', async () => {
    const help = await batchline(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Commands:[\s\S]*demo/);
    const unknown = await batchline(['launch']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "launch"/);
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
      const demo = await batchline(['demo'], { STORAGE_URL: `file://${cwd}/data` }, cwd);
      assert.equal(demo.code, 0, `${demo.stdout}\n${demo.stderr}`);
      assert.match(demo.stdout, /Run run_\w+ succeeded: 12 of 12 requests succeeded/);
      assert.match(demo.stdout, /Flagged: 3 images\./);
      assert.match(demo.stdout, /Demo succeeded\./);
      const runs = await readdir(path.join(cwd, 'data', 'runs'));
      assert.equal(runs.length, 2);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
