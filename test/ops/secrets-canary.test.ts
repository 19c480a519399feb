import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { ConfigError, loadConfig } from '../../src/config.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.js';
import type { RunView } from '../../src/runs/run-view.js';
import { startService, type RunningService } from '../../src/server.js';
import { quickTuning } from '../../src/tuning.js';
import { captureLogs } from '../helpers/log-capture.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startSlackCapture, type CapturedSlack } from '../helpers/slack-capture.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/**
 * Runs the service with recognisable secrets, drives it through the paths
 * where secrets are most likely to slip out (refused tokens, a failing
 * Slack, OpenAI refusing the key, forged webhooks, bad bodies, bad
 * configuration), then looks for them in every log line, every Redis key
 * and value, and every stored file.
 */
describe('no secret in a log line, in Redis or in storage', () => {
  const openaiKey = `sk-canary-${hex(16)}`;
  const wrongOpenaiKey = `sk-canary-wrong-${hex(16)}`;
  const apiToken = `canary-token-${hex(16)}`;
  const webhookKey = randomBytes(32).toString('base64');
  const webhookSecret = `whsec_${webhookKey}`;
  const slackPath = `canary${hex(12)}`;
  let slackUrl: string;
  let canaries: string[];

  const logs = captureLogs('debug');
  let redis: TestRedis;
  let emulator: RunningEmulator;
  let slack: CapturedSlack;
  let storageDir: string;
  let good: RunningService;
  let refused: RunningService;
  let notifyEvents: QueueEvents[] = [];

  const envFor = (prefix: string, key: string, port: number): Record<string, string> => ({
    REDIS_URL: redis.url,
    OPENAI_BASE_URL: emulator.baseURL,
    OPENAI_API_KEY: key,
    OPENAI_WEBHOOK_SECRET: webhookSecret,
    STORAGE_URL: `file://${storageDir}/${prefix}`,
    SLACK_WEBHOOK_URL: slackUrl,
    API_TOKENS: apiToken,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'debug',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    BATCHLINE_PREFIX: prefix,
  });

  const waitForNotify = (prefix: string, runId: string): Promise<void> => {
    // From the stream's start: a notify that completed before this subscription is still seen.
    const events = new QueueEvents('notify', { connection: { url: redis.url }, prefix, lastEventId: '0-0' });
    notifyEvents.push(events);
    return new Promise((resolve) => {
      events.on('completed', ({ jobId }) => {
        if (jobId === `notify-${runId}`) resolve();
      });
    });
  };

  before(async () => {
    redis = await startRedis();
    slack = await startSlackCapture();
    slackUrl = slack.url.replace(/[^/]+$/, slackPath);
    storageDir = await mkdtemp(path.join(tmpdir(), 'batchline-canary-'));
    const port = await freePort();
    emulator = await startEmulator({ apiKey: openaiKey, inProgressMs: 200, webhook: { url: `http://127.0.0.1:${port}/v1/webhooks/openai`, secret: webhookSecret } });
    canaries = [openaiKey, wrongOpenaiKey, apiToken, webhookSecret, webhookKey, slackUrl, slackPath];
    const start = (prefix: string, key: string, servicePort: number) =>
      startService({ role: 'all', config: loadConfig(envFor(prefix, key, servicePort)), logger: logs.logger, overrides: { tuning: quickTuning, workDir: path.join(storageDir, `${prefix}-work`) } });
    good = await start('canarygood', openaiKey, port);
    // The same service with a key OpenAI (the emulator) refuses.
    refused = await start('canaryrefused', wrongOpenaiKey, 0);
  });
  after(async () => {
    for (const events of notifyEvents) await events.close();
    notifyEvents = [];
    await good.stop();
    await refused.stop();
    await emulator.close();
    await slack.close();
    await redis.stop();
    await rm(storageDir, { recursive: true, force: true });
  });

  const call = async (service: RunningService, method: 'GET' | 'POST', url: string, options: { authorization?: string; body?: string; headers?: Record<string, string> } = {}) => {
    assert.ok(service.url !== null);
    const response = await fetch(`${service.url}${url}`, {
      method,
      headers: { ...(options.authorization === undefined ? {} : { authorization: options.authorization }), ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    return { status: response.status, text: await response.text() };
  };

  it('drives the error paths', async () => {
    const bearer = `Bearer ${apiToken}`;
    // Refused and malformed credentials, over real HTTP so request logging runs.
    assert.equal((await call(good, 'GET', '/v1/runs', { authorization: `Bearer ${apiToken}x` })).status, 401);
    assert.equal((await call(good, 'GET', '/v1/runs', { authorization: `Basic ${Buffer.from(`ops:${apiToken}`).toString('base64')}` })).status, 401);
    assert.equal((await call(good, 'GET', '/admin/queues/api/queues', { authorization: `Basic ${Buffer.from(`${apiToken}:${apiToken}x`).toString('base64')}` })).status, 401);
    assert.equal((await call(good, 'GET', '/admin/queues/api/queues', { authorization: bearer })).status, 200);
    // Bad bodies, some carrying the token where it does not belong.
    assert.equal((await call(good, 'POST', '/v1/runs', { authorization: bearer, body: `{"template":` })).status, 400);
    assert.equal((await call(good, 'POST', '/v1/runs', { authorization: bearer, body: JSON.stringify({ template: { type: 'summarize' }, items: [], api_key: apiToken }) })).status, 400);
    assert.equal((await call(good, 'POST', '/v1/runs', { authorization: bearer, body: JSON.stringify({ endpoint: '/v1/chat/completions', requests: [{ custom_id: 'x' }] }) })).status, 400);
    // Forged and stale webhooks.
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', created_at: 1, type: 'batch.completed', data: { id: 'batch_1' } });
    const forged = new Webhook(`whsec_${randomBytes(32).toString('base64')}`).sign('msg_forged', new Date(), payload);
    const stale = new Webhook(webhookSecret).sign('msg_stale', new Date(Date.now() - 3_600_000), payload);
    for (const [id, signature, at] of [['msg_forged', forged, new Date()], ['msg_stale', stale, new Date(Date.now() - 3_600_000)]] as const) {
      const response = await call(good, 'POST', '/v1/webhooks/openai', { body: payload, headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature } });
      assert.equal(response.status, 401);
    }

    // A run that succeeds (the emulator's signed webhook checks it) but whose Slack post fails.
    slack.failNext(404);
    const items = [{ id: 'a1', text: 'Bees pollinate crops. Yields depend on them.' }, { id: 'a2', text: `EMULATOR_FAIL so this one fails.` }];
    const posted = await call(good, 'POST', '/v1/runs', { authorization: bearer, body: JSON.stringify({ template: { type: 'summarize' }, items }) });
    assert.equal(posted.status, 202, posted.text);
    const goodRun = JSON.parse(posted.text) as RunView;
    const goodEnded = waitForNotify('canarygood', goodRun.id);
    await goodEnded;
    assert.ok(logs.find('Slack post failed').length >= 1, 'the Slack failure was logged');
    assert.ok(logs.find('webhook received').length >= 1 || logs.find('webhook refused').length >= 1);

    // A run OpenAI refuses: every call carries a key it does not accept.
    const refusedPosted = await call(refused, 'POST', '/v1/runs', { authorization: bearer, body: JSON.stringify({ template: { type: 'summarize' }, items: items.slice(0, 1) }) });
    assert.equal(refusedPosted.status, 202, refusedPosted.text);
    // The run goes on to its errors file and Slack message: wait for that, so no stage is still writing when storage is searched.
    const refusedEnded = waitForNotify('canaryrefused', (JSON.parse(refusedPosted.text) as RunView).id);
    // A 401 is permanent: the shard ends failed at once, with the reason logged (and the key nowhere).
    const refusal = await logs.waitFor('shard upload failed for good');
    assert.match(String(refusal['err']), /401|Incorrect API key/, JSON.stringify(refusal));
    await refusedEnded;

    // Bad configuration next to the secrets: the message names the bad variable only.
    assert.throws(() => loadConfig({ ...envFor('x', openaiKey, 0), PORT: 'not-a-port', REDIS_URL: `ftp://${apiToken}` }), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (const canary of canaries) assert.ok(!error.message.includes(canary), `the configuration error shows ${canary}`);
      return true;
    });
  });

  it('finds none of them in the logs', () => {
    if (process.env['CANARY_PRINT_LOGS'] === '1') process.stderr.write(`${logs.lines.join('\n')}\n`);
    assert.ok(logs.lines.length > 30, `only ${logs.lines.length} log lines were captured`);
    for (const line of logs.lines) {
      for (const canary of canaries) assert.ok(!line.includes(canary), `a log line contains a secret (${canary.slice(0, 12)}…): ${line}`);
    }
  });

  it('finds none of them in any Redis key or value', async () => {
    const client = new Redis(redis.port, '127.0.0.1');
    try {
      let cursor = '0';
      let keys = 0;
      const leaks: string[] = [];
      do {
        const [next, batch] = await client.scan(cursor, 'COUNT', 500);
        cursor = next;
        for (const key of batch) {
          keys += 1;
          const text = `${key} ${await dumpValue(client, key)}`;
          for (const canary of canaries) if (text.includes(canary)) leaks.push(`${key} holds ${canary.slice(0, 12)}…`);
        }
      } while (cursor !== '0');
      assert.ok(keys > 20, `only ${keys} keys in Redis`);
      assert.deepEqual(leaks, []);
    } finally {
      client.disconnect();
    }
  });

  it('finds none of them in stored files', async () => {
    const leaks: string[] = [];
    let files = 0;
    for (const entry of await readdir(storageDir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      files += 1;
      const file = path.join(entry.parentPath, entry.name);
      const text = await readFile(file, 'utf8');
      for (const canary of canaries) if (text.includes(canary)) leaks.push(`${file} holds ${canary.slice(0, 12)}…`);
    }
    assert.ok(files > 0);
    assert.deepEqual(leaks, []);
  });
});

async function dumpValue(client: Redis, key: string): Promise<string> {
  const type = await client.type(key);
  switch (type) {
    case 'string':
      return (await client.get(key)) ?? '';
    case 'hash':
      return JSON.stringify(await client.hgetall(key));
    case 'list':
      return JSON.stringify(await client.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await client.smembers(key));
    case 'zset':
      return JSON.stringify(await client.zrange(key, 0, -1, 'WITHSCORES'));
    case 'stream':
      return JSON.stringify(await client.xrange(key, '-', '+'));
    default:
      return type;
  }
}
