import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import { EMULATOR_HELP, parseEmulatorArgs, runEmulatorCommand } from '../../src/emulator/emulator-command.js';
import type { RunningEmulator } from '../../src/emulator/start-emulator.js';
import { nodeHttpFetch } from '../../src/lib/node-http-fetch.js';

const capture = (): { lines: string[]; write: (text: string) => void } => {
  const lines: string[] = [];
  return { lines, write: (text) => lines.push(text) };
};

describe('batchline emulator (command)', () => {
  it('prints --help with every option and exits 0', async () => {
    const out = capture();
    assert.equal(await runEmulatorCommand(['--help'], { stdout: out.write }), 0);
    const help = out.lines.join('');
    assert.equal(help, EMULATOR_HELP);
    for (const flag of [
      '--port',
      '--host',
      '--api-key',
      '--data-dir',
      '--validating-ms',
      '--in-progress-ms',
      '--finalizing-ms',
      '--cancelling-ms',
      '--request-error-rate',
      '--expire-at',
      '--token-budget',
      '--rate-limit-every',
      '--retry-after',
      '--server-error-every',
      '--latency-ms',
      '--drop-create-responses',
      '--webhook-url',
      '--webhook-secret',
      'emulator_error_rate',
    ]) {
      assert.ok(help.includes(flag), `help mentions ${flag}`);
    }
  });

  it('refuses bad flags with a message on stderr and a non-zero code', async () => {
    for (const argv of [['--nope'], ['--port', 'abc'], ['--port', '70000'], ['--request-error-rate', '2'], ['--token-budget', 'gpt-4o'], ['--webhook-url', 'http://127.0.0.1:1/x'], ['--webhook-url', 'http://127.0.0.1:1/x', '--webhook-secret', 'nope'], ['extra']]) {
      const err = capture();
      const code = await runEmulatorCommand(argv, { stderr: err.write, stdout: () => undefined });
      assert.equal(code, 2, argv.join(' '));
      assert.match(err.lines.join(''), /^batchline emulator: .+\nRun "batchline emulator --help"/s, argv.join(' '));
    }
  });

  it('maps flags to options', () => {
    const options = parseEmulatorArgs([
      '--port', '0', '--api-key', 'sk-test', '--in-progress-ms', '2000', '--token-budget', 'gpt-4o-mini=90000', '--token-budget', '*=5',
      '--retry-after', '0.5', '--drop-create-responses', '2', '--fault-operations', 'createBatch,retrieveBatch', '--expire-at', '0.6', '--seed', '7',
    ]);
    assert.notEqual(options, 'help');
    assert.deepEqual(options, {
      port: 0,
      apiKey: 'sk-test',
      logLevel: 'info',
      seed: 7,
      inProgressMs: 2000,
      faults: {
        expireAtFraction: 0.6,
        tokenBudgetPerModel: { 'gpt-4o-mini': 90000, '*': 5 },
        retryAfterSeconds: 0.5,
        dropCreateResponse: 2,
        operations: ['createBatch', 'retrieveBatch'],
      },
    });
  });

  it('serves the SDK with the given key until stopped, and exits 0', async () => {
    const stop = new AbortController();
    const out = capture();
    let onListening: (emulator: RunningEmulator) => void = () => undefined;
    const listening = new Promise<RunningEmulator>((resolve) => (onListening = resolve));
    const exitCode = runEmulatorCommand(['--port', '0', '--api-key', 'sk-cli', '--log-level', 'silent', '--token-budget', 'm=10'], {
      stdout: out.write,
      signal: stop.signal,
      onListening,
    });
    const emulator = await Promise.race([listening, exitCode.then((code) => assert.fail(`exited with ${code} before listening`))]);
    assert.match(out.lines.join(''), /listening on http:\/\/127\.0\.0\.1:\d+\/v1 \(API key: sk-cli/);
    assert.deepEqual(emulator.faults.tokenBudgetPerModel, { m: 10 });
    const client = new OpenAI({ apiKey: 'sk-cli', baseURL: emulator.baseURL, fetch: nodeHttpFetch });
    assert.deepEqual((await client.batches.list()).data, []);
    stop.abort();
    assert.equal(await exitCode, 0);
  });

  it('stops on SIGTERM when run as a process', async () => {
    const command = fileURLToPath(new URL('../../src/emulator/emulator-command.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const m = await import(${JSON.stringify(command)}); process.exitCode = await m.runEmulatorCommand(process.argv.slice(1));`, '--', '--port', '0', '--log-level', 'silent'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let output = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => (output += text));
      const deadline = Date.now() + 20_000;
      while (!output.includes('listening on') && Date.now() < deadline && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 25));
      const baseURL = /listening on (\S+)/.exec(output)?.[1];
      assert.ok(baseURL !== undefined, `no listening line in ${JSON.stringify(output)}`);
      const client = new OpenAI({ apiKey: 'sk-emulator', baseURL, fetch: nodeHttpFetch });
      assert.deepEqual((await client.files.list()).data, []);
      child.kill('SIGTERM');
      // 'close': the output is read to its end before it is checked.
      const [code] = (await once(child, 'close')) as [number | null];
      assert.equal(code, 0);
      assert.match(output, /stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
