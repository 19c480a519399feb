import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { QueueEvents, type Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { buildApp } from '../../src/app.js';
import { jobIds } from '../../src/queues/job-ids.js';
import type { RunView } from '../../src/runs/run-view.js';
import { freePort } from '../helpers/redis-server.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

const SECRET = `whsec_${Buffer.from('batchline-webhook-test-secret-32b').toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.from('someone-else-entirely-secret-32b').toString('base64')}`;
const TOKEN = 'webhook-suite-token';
/** Far beyond the test: without a webhook the first status check would not come in time. */
const FIRST_CHECK_MS = 120_000;

interface Signed {
  headers: Record<string, string>;
  payload: string;
}

function signed(event: { type: string; batchId: string }, options: { secret?: string; at?: Date; id?: string; payload?: string } = {}): Signed {
  const id = options.id ?? `msg_${randomUUID()}`;
  const at = options.at ?? new Date();
  const payload = options.payload ?? JSON.stringify({ id: `evt_${randomUUID()}`, object: 'event', created_at: Math.floor(at.getTime() / 1000), type: event.type, data: { id: event.batchId } });
  return {
    payload,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(options.secret ?? SECRET).sign(id, at, payload),
    },
  };
}

describe('POST /v1/webhooks/openai', () => {
  let t: TestService;
  let pollEvents: QueueEvents;

  before(async () => {
    const port = await freePort();
    t = await startTestService({
      env: { OPENAI_WEBHOOK_SECRET: SECRET, API_TOKENS: TOKEN, PORT: String(port) },
      emulator: { inProgressMs: 300, webhook: { url: `http://127.0.0.1:${port}/v1/webhooks/openai`, secret: SECRET } },
      tuning: { pollInitialMs: FIRST_CHECK_MS, pollMaxMs: FIRST_CHECK_MS },
    });
    pollEvents = new QueueEvents('poll', { connection: { url: t.redis.url }, prefix: t.prefix });
    await pollEvents.waitUntilReady();
  });
  after(async () => {
    await pollEvents.close();
    await t.close();
  });

  const post = (message: Signed, url = '/v1/webhooks/openai') => {
    assert.ok(t.service.app !== null);
    return t.service.app.inject({ method: 'POST', url, headers: message.headers, payload: message.payload });
  };

  /** Starts a run of one request and resolves with its batch's poll job once that job waits for its next check. */
  async function runWaitingForCheck(metadata: Record<string, string> = {}): Promise<{ run: RunView; job: Job; batchId: string }> {
    // Listening before the run exists, so its poll job cannot slip by unseen.
    const seen: string[] = [];
    let runId: string | null = null;
    let found: (jobId: string) => void = () => undefined;
    const listener = ({ jobId }: { jobId: string }) => {
      seen.push(jobId);
      if (runId !== null && jobId.startsWith(`poll-${runId}-`)) found(jobId);
    };
    pollEvents.on('delayed', listener);
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ id: 'a1', text: 'Bees pollinate crops. Yields depend on them.' }], metadata }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(posted.status, 202, posted.text);
    const run = posted.body as RunView;
    runId = run.id;
    const jobId = await new Promise<string>((resolve) => {
      found = resolve;
      const already = seen.find((id) => id.startsWith(`poll-${run.id}-`));
      if (already !== undefined) resolve(already);
    });
    pollEvents.off('delayed', listener);
    const job = await t.service.deps.queues.poll.getJob(jobId);
    assert.ok(job !== undefined);
    return { run, job, batchId: String((job.data as { batchId: string }).batchId) };
  }

  const nextDelay = (jobId: string) =>
    new Promise<void>((resolve) => {
      const listener = (event: { jobId: string }) => {
        if (event.jobId !== jobId) return;
        pollEvents.off('delayed', listener);
        resolve();
      };
      pollEvents.on('delayed', listener);
    });

  it('a signed batch.completed from the emulator has the batch checked at once, not at the next scheduled check', async () => {
    const startedAt = Date.now();
    const { run } = await runWaitingForCheck();
    const ended = await t.waitForRunEnd(run.id, 20_000);
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    assert.ok(Date.now() - startedAt < FIRST_CHECK_MS / 4);
    const batchId = ended.batches[0]?.batch_id;
    const deliveries = t.emulator.ledger.webhookDeliveries().filter((delivery) => delivery.batchId === batchId);
    assert.equal(deliveries.length, 1, JSON.stringify(deliveries));
    assert.equal(deliveries[0]?.type, 'batch.completed');
    assert.equal(deliveries[0]?.status, 200);
  });

  it('refuses forged, tampered, stale, future-dated and unsigned deliveries, and they change nothing', async () => {
    const { job, batchId } = await runWaitingForCheck({ emulator_in_progress_ms: '600000' });
    const event = { type: 'batch.completed', batchId };
    const genuine = signed(event);
    const attempts: Array<[string, Signed]> = [
      ['signed with another secret', signed(event, { secret: OTHER_SECRET })],
      ['body changed after signing', { headers: genuine.headers, payload: genuine.payload.replace(batchId, `${batchId}x`) }],
      ['signed for another message id', { headers: { ...genuine.headers, 'webhook-id': 'msg_other' }, payload: genuine.payload }],
      ['ten minutes old', signed(event, { at: new Date(Date.now() - 10 * 60_000) })],
      ['ten minutes ahead', signed(event, { at: new Date(Date.now() + 10 * 60_000) })],
      ['no signature', { headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) }, payload: genuine.payload }],
      ['no headers at all', { headers: { 'content-type': 'application/json' }, payload: genuine.payload }],
    ];
    for (const [what, message] of attempts) {
      const response = await post(message);
      assert.equal(response.statusCode, 401, `${what}: ${response.body}`);
      assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'invalid_signature', what);
    }
    assert.equal(await job.getState(), 'delayed', 'nothing was promoted');
    const other = await post({ ...genuine, headers: { ...genuine.headers, 'content-type': 'text/plain' } });
    assert.equal(other.statusCode, 415);
    // A genuine delivery to a URL with a query the route does not take is refused as every /v1 route refuses one.
    const withQuery = await post(genuine, '/v1/webhooks/openai?source=openai');
    assert.equal(withQuery.statusCode, 400, withQuery.body);
    assert.deepEqual(JSON.parse(withQuery.body), { error: { code: 'invalid_request', message: 'querystring: unknown field "source"' } });
    assert.equal(await job.getState(), 'delayed', 'nothing was promoted');
  });

  it('accepts a genuine event once: the poll job runs now; a repeat of the same webhook-id is acknowledged and ignored', async () => {
    const { job, batchId } = await runWaitingForCheck({ emulator_in_progress_ms: '600000' });
    assert.equal((await t.service.deps.queues.poll.getJob(job.id ?? ''))?.data.checks, 0);
    const message = signed({ type: 'batch.completed', batchId });

    const checked = nextDelay(job.id ?? '');
    const first = await post(message);
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(JSON.parse(first.body), { received: true, outcome: 'accepted' });
    // The batch is still running in the emulator: the check finds that and waits again, one check spent.
    await checked;
    const afterFirst = await t.service.deps.queues.poll.getJob(job.id ?? '');
    assert.equal(afterFirst?.data.checks, 1);

    for (let repeat = 0; repeat < 3; repeat++) {
      const again = await post(message);
      assert.equal(again.statusCode, 200);
      assert.deepEqual(JSON.parse(again.body), { received: true, outcome: 'duplicate' });
      assert.equal(await afterFirst?.getState(), 'delayed', 'a repeat promotes nothing');
    }
    // The same event redelivered under a new webhook-id is a new delivery: it checks again.
    const checkedAgain = nextDelay(job.id ?? '');
    const redelivered = await post(signed({ type: 'batch.completed', batchId }));
    assert.deepEqual(JSON.parse(redelivered.body), { received: true, outcome: 'accepted' });
    await checkedAgain;
    assert.equal((await t.service.deps.queues.poll.getJob(job.id ?? ''))?.data.checks, 2);
    assert.equal(job.id, jobIds.poll({ ...(job.data as { runId: string; shard: number; generation: number }), batchId }));
  });

  it('acknowledges and ignores a webhook for a batch it does not know, and events that are not terminal batch events', async () => {
    const unknown = await post(signed({ type: 'batch.completed', batchId: 'batch_not_ours' }));
    assert.equal(unknown.statusCode, 200);
    assert.deepEqual(JSON.parse(unknown.body), { received: true, outcome: 'unknown_batch' });
    const other = await post(signed({ type: 'response.completed', batchId: 'resp_123' }));
    assert.deepEqual(JSON.parse(other.body), { received: true, outcome: 'ignored' });
    const notJson = await post(signed({ type: 'batch.completed', batchId: 'x' }, { payload: 'not json at all' }));
    assert.equal(notJson.statusCode, 400);
    const notEvent = await post(signed({ type: 'batch.completed', batchId: 'x' }, { payload: '{"hello":"world"}' }));
    assert.equal(notEvent.statusCode, 400);
    // Signed but not an event: counted apart from forgeries, so a sender's broken payloads show in the metrics.
    assert.ok(t.service.app !== null);
    const metrics = await t.service.app.inject({ method: 'GET', url: '/metrics' });
    assert.match(metrics.body, /^batchline_webhooks_total\{outcome="invalid"\} 2$/m);
  });

  it('is off without OPENAI_WEBHOOK_SECRET, and says so', async () => {
    const app = await buildApp({ ...t.service.deps, config: { ...t.service.deps.config, OPENAI_WEBHOOK_SECRET: undefined } });
    try {
      const message = signed({ type: 'batch.completed', batchId: 'batch_x' });
      const response = await app.inject({ method: 'POST', url: '/v1/webhooks/openai', headers: message.headers, payload: message.payload });
      assert.equal(response.statusCode, 404);
      const { error } = JSON.parse(response.body) as { error: { code: string; message: string } };
      assert.equal(error.code, 'webhooks_disabled');
      assert.match(error.message, /OPENAI_WEBHOOK_SECRET/);
      // Not even the body is looked at: a malformed one gets the same answer.
      const garbage = await app.inject({ method: 'POST', url: '/v1/webhooks/openai', headers: { 'content-type': 'application/json' }, payload: '{nope' });
      assert.equal(garbage.statusCode, 404, garbage.body);
    } finally {
      await app.close();
    }
  });
});
