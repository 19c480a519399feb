import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIG_VARIABLES, ConfigError, loadConfig, requireOpenAIKey } from '../../../src/config.js';
import { tuningFromConfig } from '../../../src/tuning.js';

/** The variable alone with this value is refused, the message naming it (with its value) and the reason. */
function assertRefused(variable: string, value: string, reason: RegExp): void {
  assert.throws(() => loadConfig({ [variable]: value }), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, new RegExp(`${variable}=`));
    assert.match(error.message, reason);
    return true;
  }, `${variable}=${value}`);
}

describe('configuration', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(config.STORAGE_URL, 'file://./data');
    assert.equal(config.PORT, 3000);
    assert.equal(config.HOST, '0.0.0.0');
    assert.equal(config.LOG_LEVEL, 'info');
    assert.deepEqual(config.API_TOKENS, []);
  });

  it('names every bad variable and hides secret values', () => {
    assert.throws(
      () => loadConfig({ REDIS_URL: 'http://x', PORT: 'eighty', STORAGE_URL: 'ftp://x', LOG_LEVEL: 'loud', SLACK_WEBHOOK_URL: 'not a url with secret' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['REDIS_URL', 'PORT', 'STORAGE_URL', 'LOG_LEVEL', 'SLACK_WEBHOOK_URL']) assert.match(error.message, new RegExp(name));
        assert.doesNotMatch(error.message, /not a url with secret/);
        return true;
      },
    );
  });

  it('splits API_TOKENS and refuses to start without an OpenAI key unless pointed at an emulator', () => {
    assert.deepEqual(loadConfig({ API_TOKENS: 'a, b,,c' }).API_TOKENS, ['a', 'b', 'c']);
    assert.throws(() => requireOpenAIKey(loadConfig({})), /OPENAI_API_KEY is not set/);
    assert.throws(() => requireOpenAIKey(loadConfig({ OPENAI_BASE_URL: 'https://api.openai.com/v1' })), /OPENAI_API_KEY/);
    assert.equal(requireOpenAIKey(loadConfig({ OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1' })), 'sk-emulator');
    assert.equal(requireOpenAIKey(loadConfig({ OPENAI_API_KEY: 'sk-real' })), 'sk-real');
  });

  it('refuses values a lax reading would accept: a token list naming no token, non-decimal or blank-as-zero numbers, a mistyped HOST, a first poll interval above the maximum', () => {
    for (const [variable, value, reason] of [
      ['API_TOKENS', ',', /names no token/],
      ['API_TOKENS', ' , ,', /names no token/],
      ['PORT', '1e3', /whole number/],
      ['PORT', '0x10', /whole number/],
      ['PORT', '-1', /whole number/],
      ['PORT', '65536', /65535/],
      ['BATCHLINE_JOB_LOCK_MS', '3e4', /whole number/],
      ['BATCHLINE_SHUTDOWN_GRACE_MS', '0b1', /whole number/],
      ['HOST', '999.1.1.1', /IP address or a host name/],
      ['HOST', 'api..internal', /IP address or a host name/],
    ] as const) {
      assertRefused(variable, value, reason);
    }
    assert.throws(() => loadConfig({ BATCHLINE_POLL_INITIAL_MS: '60000', BATCHLINE_POLL_MAX_MS: '30000' }), /BATCHLINE_POLL_INITIAL_MS="60000": the first status check .*60000\).*BATCHLINE_POLL_MAX_MS 30000\)/);
    // Against the other's default too, named as such.
    assert.throws(() => loadConfig({ BATCHLINE_POLL_INITIAL_MS: '600000' }), /BATCHLINE_POLL_INITIAL_MS="600000": .*BATCHLINE_POLL_MAX_MS 300000 by default/);
    assert.throws(() => loadConfig({ BATCHLINE_POLL_MAX_MS: '5000' }), /BATCHLINE_POLL_MAX_MS="5000": .*BATCHLINE_POLL_INITIAL_MS 10000 by default/);
    // Blank is unset, as for every other variable (not port 0, "any free port").
    assert.equal(loadConfig({ PORT: '', HOST: ' ' }).PORT, 3000);
    assert.equal(loadConfig({ PORT: ' 8080 ' }).PORT, 8080);
    for (const host of ['localhost', '127.0.0.1', '::', 'api.internal', 'redis-1']) assert.equal(loadConfig({ HOST: host }).HOST, host);
    assert.equal(loadConfig({ BATCHLINE_POLL_INITIAL_MS: '600000', BATCHLINE_POLL_MAX_MS: '600000' }).BATCHLINE_POLL_INITIAL_MS, 600_000);
  });

  it('takes poll cadence, shard size, join threads and sweep interval from the environment, and only what is set', () => {
    assert.deepEqual(tuningFromConfig(loadConfig({})), {});
    assert.equal(loadConfig({}).BATCHLINE_SWEEP_INTERVAL_MS, 60_000);
    const config = loadConfig({
      BATCHLINE_POLL_INITIAL_MS: '100',
      BATCHLINE_POLL_MAX_MS: '400',
      BATCHLINE_SHARD_MAX_REQUESTS: '1000',
      BATCHLINE_JOIN_THREADS: '0',
      BATCHLINE_SWEEP_INTERVAL_MS: '500',
      BATCHLINE_CRASH_AT: '',
    });
    assert.deepEqual(tuningFromConfig(config), { pollInitialMs: 100, pollMaxMs: 400, shardMaxRequests: 1000, joinThreads: 0 });
    assert.equal(config.BATCHLINE_SWEEP_INTERVAL_MS, 500);
    assert.equal(config.BATCHLINE_CRASH_AT, undefined);
    assert.throws(() => loadConfig({ BATCHLINE_SHARD_MAX_REQUESTS: '50001', BATCHLINE_POLL_MAX_MS: 'soon' }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /BATCHLINE_SHARD_MAX_REQUESTS/);
      assert.match(error.message, /BATCHLINE_POLL_MAX_MS/);
      return true;
    });
    for (const threads of ['-1', '2.5', 'many', '17']) {
      assert.throws(() => loadConfig({ BATCHLINE_JOIN_THREADS: threads }), /BATCHLINE_JOIN_THREADS/, `BATCHLINE_JOIN_THREADS=${threads} refused`);
    }
  });

  it('reads per-stage concurrency and the stages a worker runs, and names what is wrong with them', () => {
    const config = loadConfig({ BATCHLINE_CONCURRENCY: ' build=1, submit = 8,poll=100 ', BATCHLINE_QUEUES: 'poll, results,poll' });
    assert.deepEqual(config.BATCHLINE_CONCURRENCY, { build: 1, submit: 8, poll: 100 });
    assert.deepEqual(config.BATCHLINE_QUEUES, ['poll', 'results']);
    assert.deepEqual(loadConfig({ BATCHLINE_CONCURRENCY: '', BATCHLINE_QUEUES: ' ' }).BATCHLINE_CONCURRENCY, {});
    assert.equal(loadConfig({}).BATCHLINE_QUEUES, undefined);
    for (const [variable, value, reason] of [
      ['BATCHLINE_CONCURRENCY', 'builds=2', /"builds=2" is not stage=N/],
      ['BATCHLINE_CONCURRENCY', 'poll=0', /at least 1/],
      ['BATCHLINE_CONCURRENCY', 'poll', /"poll" is not stage=N/],
      ['BATCHLINE_CONCURRENCY', 'poll=-3', /is not stage=N/],
      ['BATCHLINE_CONCURRENCY', 'poll=2,poll=3', /"poll" is given twice/],
      ['BATCHLINE_QUEUES', 'poll,polls', /unknown stage "polls"/],
    ] as const) {
      assertRefused(variable, value, reason);
    }
  });

  it('reads a blank value as unset for every variable (an .env line `LOG_LEVEL=`, a manifest `value: ""`)', () => {
    assert.ok(CONFIG_VARIABLES.length >= 30, `${CONFIG_VARIABLES.length} variables`);
    const defaults = loadConfig({});
    for (const variable of CONFIG_VARIABLES) {
      for (const blank of ['', '  ']) assert.deepEqual(loadConfig({ [variable]: blank }), defaults, `${variable}=${JSON.stringify(blank)}`);
    }
    // All at once, too.
    assert.deepEqual(loadConfig(Object.fromEntries(CONFIG_VARIABLES.map((variable) => [variable, '']))), defaults);
  });

  it('reads LOG_LEVEL in any case, and names the levels when it is none of them', () => {
    for (const [value, level] of [['INFO', 'info'], ['Debug', 'debug'], [' warn ', 'warn'], ['SILENT', 'silent']] as const) assert.equal(loadConfig({ LOG_LEVEL: value }).LOG_LEVEL, level);
    assertRefused('LOG_LEVEL', 'loud', /must be one of fatal, error, warn, info, debug, trace, silent/);
    assertRefused('LOG_LEVEL', 'warning', /must be one of/);
  });

  it('reads yes/no settings from 1/0, true/false, yes/no, on/off in any case, and refuses any other spelling', () => {
    for (const variable of ['BULL_BOARD_WRITABLE', 'BATCHLINE_ALLOW_EPHEMERAL_REDIS'] as const) {
      assert.equal(loadConfig({})[variable], false);
      for (const yes of ['1', 'true', 'TRUE', 'Yes', 'on', ' On ']) assert.equal(loadConfig({ [variable]: yes })[variable], true, `${variable}=${yes}`);
      for (const no of ['0', 'false', 'False', 'NO', 'off']) assert.equal(loadConfig({ [variable]: no })[variable], false, `${variable}=${no}`);
      for (const other of ['y', 'n', '2', 'enabled', 'truee']) assertRefused(variable, other, /must be one of 1, true, yes, on, 0, false, no, off \(any case\)/);
    }
  });
});
