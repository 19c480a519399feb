import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/lib/logger.js';
import { startService } from '../../../src/server.js';
import type { CollectOutcome } from '../../../src/pipelines/collection/collect-pipeline.js';
import { readRunItems } from '../../helpers/run-items.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';
import { startTestService, type TestService } from '../../helpers/test-service.js';

interface Fired {
  jobId: string;
  /** When the scheduler meant it to run (the millis in its job id). */
  dueAt: number;
  processedOn: number;
  outcome: CollectOutcome;
}

const SCHEDULED = /^repeat:pipeline-ticker:(\d+)$/;

/**
 * A pipeline scheduled by PIPELINES_FILE with a one-second `every`, on a
 * local folder: it fires on time, collects only what is new, and a restart
 * (the file applied again) never doubles its schedule.
 */
describe('scheduled collection', () => {
  let redis: TestRedis;
  let dir: string;
  let events: QueueEvents;
  /** The test's own view of the queue: the services come and go. */
  let queue: Queue;
  let t: TestService | null = null;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const fired: Fired[] = [];
  const waiters: Array<() => void> = [];

  const pipelinesFile = (every: string, extra = ''): string => `
# Applied at every start; the pipeline's every-schedule is a BullMQ job scheduler.
pipelines:
  ticker:
    schedule: { every: ${every} }
    # The files are written whole just before a tick: no settle wait, this is about the schedule.
    source: { type: local, path: ${JSON.stringify(path.join(dir, 'in'))}, settle_seconds: 0 }
    template:
      type: embeddings
      model: text-embedding-3-small
      input: "{{key}}"
${extra}`;

  const start = async (file: string): Promise<TestService> => {
    const filePath = path.join(dir, `pipelines-${randomBytes(3).toString('hex')}.yaml`);
    await writeFile(filePath, file);
    return startTestService({ redis, env: { BATCHLINE_PREFIX: prefix, PIPELINES_FILE: filePath, STORAGE_URL: `file://${dir}/data` } });
  };

  /** Resolves once `count` scheduled collections have completed since `from` (an index into `fired`). */
  const firedSince = async (from: number, count: number): Promise<Fired[]> => {
    while (fired.length < from + count) await new Promise<void>((resolve) => waiters.push(resolve));
    return fired.slice(from, from + count);
  };

  const schedulers = () => (t as TestService).service.deps.queues.collect.getJobSchedulers(0, -1);

  before(async () => {
    redis = await startRedis();
    dir = await mkdtemp(path.join(tmpdir(), 'batchline-schedule-'));
    await mkdir(path.join(dir, 'in'));
    await writeFile(path.join(dir, 'in', 'a.txt'), 'a');
    await writeFile(path.join(dir, 'in', 'b.txt'), 'b');
    events = new QueueEvents('collect', { connection: { url: redis.url }, prefix });
    await events.waitUntilReady();
    queue = new Queue('collect', { connection: { url: redis.url }, prefix });
    events.on('completed', ({ jobId, returnvalue }) => {
      const due = SCHEDULED.exec(jobId);
      if (due === null) return;
      void queue.getJob(jobId).then((job) => {
        fired.push({ jobId, dueAt: Number(due[1]), processedOn: job?.processedOn ?? Number.NaN, outcome: returnvalue as unknown as CollectOutcome });
        for (const wake of waiters.splice(0)) wake();
      }, () => undefined);
    });
  });
  after(async () => {
    await events?.close();
    await t?.close();
    await queue?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fires on time and collects only new files', async () => {
    t = await start(pipelinesFile('1s'));
    const pipeline = await t.request('GET', '/v1/pipelines/ticker');
    assert.equal(pipeline.status, 200, pipeline.text);
    assert.equal((pipeline.body as { origin: string }).origin, 'file');

    // An every-schedule fires at once, then every second.
    const [first, second] = await firedSince(0, 2);
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.outcome.items, 2);
    assert.equal(second.outcome.runId, null, 'nothing new a second later');
    // One-second slots (a slot is skipped only when a collection starts more than a second late).
    assert.ok(second.dueAt - first.dueAt >= 1000 && (second.dueAt - first.dueAt) % 1000 === 0, `slots ${first.dueAt}, ${second.dueAt}`);
    for (const run of [first, second]) assert.ok(run.processedOn - run.dueAt < 2000, `${run.jobId} ran ${run.processedOn - run.dueAt} ms after it was due`);

    const from = fired.length;
    await writeFile(path.join(dir, 'in', 'c.txt'), 'c');
    let next: Fired | undefined;
    for (let index = from; next === undefined; index += 1) {
      const [candidate] = await firedSince(index, 1);
      if (candidate !== undefined && candidate.outcome.items > 0) next = candidate;
    }
    assert.equal(next.outcome.items, 1);
    assert.deepEqual((await readRunItems(t.service.deps, next.outcome.runId ?? '')).map((item) => item.key), ['c.txt']);
    await t.waitForRunEnd(next.outcome.runId ?? '');
    await t.waitForRunEnd(first.outcome.runId ?? '');
  });

  it('survives a restart without doubling its schedule', async () => {
    assert.equal((await schedulers()).length, 1);
    await t?.close();
    t = null;
    t = await start(pipelinesFile('1s'));
    const after = await schedulers();
    assert.equal(after.length, 1);
    assert.equal(after[0]?.every, 1000);
    const queued = await t.service.deps.queues.collect.getJobs(['delayed', 'waiting', 'prioritized']);
    assert.ok(queued.filter((job) => SCHEDULED.test(job.id ?? '')).length <= 1, `one pending scheduled job at most: ${queued.map((job) => job.id).join(', ')}`);

    // Three fires after the restart fall in three distinct one-second slots, in order: one schedule, not two.
    const from = fired.length;
    const next = await firedSince(from, 3);
    const due = next.map((run) => run.dueAt).sort((a, b) => a - b);
    for (let index = 1; index < due.length; index += 1) {
      const gap = (due[index] ?? 0) - (due[index - 1] ?? 0);
      assert.ok(gap >= 1000 && gap % 1000 === 0, `slots ${due.join(', ')}`);
    }
    assert.ok(next.every((run) => run.outcome.runId === null), 'nothing new after the restart');
  });

  it('a changed file replaces the schedule, a bad file starts nothing, a removed pipeline loses its schedule', async () => {
    await t?.close();
    t = null;
    t = await start(pipelinesFile('2s', '  posted:\n    template: { type: summarize }\n'));
    const changed = await schedulers();
    assert.equal(changed.length, 1);
    assert.equal(changed[0]?.every, 2000);
    assert.equal((await t.request('PUT', '/v1/pipelines/by-api', { template: { type: 'summarize' } })).status, 201);
    await t.close();
    t = null;

    // startService itself, which closes what it opened when it refuses to start.
    const badFile = path.join(dir, 'bad.yaml');
    await writeFile(badFile, pipelinesFile('1s', '  bad:\n    schedule: { cron: "61 * * * *" }\n    source: { type: local, path: /tmp }\n    template: { type: summarize }\n'));
    const config = loadConfig({ REDIS_URL: redis.url, BATCHLINE_PREFIX: prefix, PIPELINES_FILE: badFile, OPENAI_API_KEY: 'sk-test', BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1', PORT: '0', HOST: '127.0.0.1' });
    await assert.rejects(
      startService({ role: 'api', config, logger: createLogger('silent') }),
      (error: unknown) => error instanceof ConfigError && /pipelines\.bad\.schedule\.cron: invalid cron expression/.test(error.message),
    );

    t = await start('pipelines: {}\n');
    assert.equal((await schedulers()).length, 0);
    const listed = (await t.request('GET', '/v1/pipelines')).body as { data: Array<{ id: string }> };
    assert.deepEqual(listed.data.map((pipeline) => pipeline.id), ['by-api']);
  });
});
