import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Job, QueueEvents } from 'bullmq';
import type { CollectOutcome, CollectProgress } from '../../../src/pipelines/collection/collect-pipeline.js';
import { pipelineKeys } from '../../../src/pipelines/pipeline-keys.js';
import { pipelineRunIds, readRunItems } from '../../helpers/run-items.js';
import { putMany } from '../../helpers/s3-put-many.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { startRedis, type TestRedis } from '../../helpers/redis-server.js';
import { startTestService, type TestService } from '../../helpers/test-service.js';
import { spawnWorker, type WorkerProcess } from '../../helpers/worker-process.js';

/** Two listing pages (1,000 + 200) and three seen-marking chunks (500 + 500 + 200). */
const OBJECTS = 1_200;
const KEYS = Array.from({ length: OBJECTS }, (_, index) => `crash/object-${String(index).padStart(5, '0')}.txt`);
/** Short job and collection locks, so a killed worker's collection is taken over within seconds. */
const LOCK_MS = 2_000;

/**
 * A worker process killed in the middle of a collection (SIGKILL at a test
 * pause point) and a fresh one started: every object still ends up in
 * exactly one run, whichever step the first one died at.
 */
describe('a collection killed half-way', () => {
  let redis: TestRedis;
  let s3: TestS3Server;
  let t: TestService;
  let events: QueueEvents;
  let worker: WorkerProcess | null = null;
  const prefix = `t${randomBytes(4).toString('hex')}`;

  const workerEnv = (pauseAt?: string): Record<string, string> => ({
    REDIS_URL: redis.url,
    BATCHLINE_PREFIX: prefix,
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    STORAGE_URL: t.env['STORAGE_URL'] ?? '',
    OPENAI_BASE_URL: t.emulator.baseURL,
    OPENAI_API_KEY: 'sk-emulator',
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    BATCHLINE_JOB_LOCK_MS: String(LOCK_MS),
    BATCHLINE_SHUTDOWN_GRACE_MS: '1000',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'warn',
    ...(pauseAt === undefined ? {} : { BATCHLINE_TEST_PAUSE_AT: pauseAt }),
  });

  /** Every progress report since the start, so a report sent before a test looks for it is not missed. */
  const reports: Array<{ jobId: string; progress: CollectProgress }> = [];
  const onReport = new Set<() => void>();

  /** Resolves with the first progress report of the job that passes the test (rejects after a minute, with the worker's output). */
  const progressOf = async (jobId: string, test: (progress: CollectProgress) => boolean): Promise<CollectProgress> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = reports.find((report) => report.jobId === jobId && test(report.progress));
      if (found !== undefined) return found.progress;
      if (Date.now() > deadline) throw new Error(`job ${jobId} never reported the expected progress; worker output:\n${worker?.output() ?? ''}`);
      await new Promise<void>((resolve) => {
        // The timer only bounds the wait so the deadline is checked; a report wakes it at once.
        const timer = setTimeout(resolve, 1000);
        onReport.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };

  const trigger = async (pipelineId: string): Promise<string> => {
    const response = await t.request('POST', `/v1/pipelines/${pipelineId}/trigger`);
    assert.equal(response.status, 202, response.text);
    return (response.body as { job_id: string }).job_id;
  };

  const finished = async (jobId: string): Promise<CollectOutcome> => {
    const job = await Job.fromId(t.service.deps.queues.collect, jobId);
    assert.ok(job !== undefined);
    return (await job.waitUntilFinished(events, 60_000)) as CollectOutcome;
  };

  const definePipeline = async (id: string): Promise<void> => {
    const response = await t.request('PUT', `/v1/pipelines/${id}`, {
      source: { type: 's3', bucket: 'uploads', prefix: 'crash/' },
      template: { type: 'embeddings', model: 'text-embedding-3-small', input: '{{key}}' },
    });
    assert.equal(response.status, 201, response.text);
  };

  /** Kills the paused worker once `reached` resolves, then lets a fresh worker finish the job. */
  const crashThenRecover = async (pipelineId: string, pauseAt: string, reached: (jobId: string) => Promise<unknown>, inspect: () => Promise<void>): Promise<CollectOutcome> => {
    worker = spawnWorker(workerEnv(pauseAt));
    const jobId = await trigger(pipelineId);
    await reached(jobId);
    await worker.kill();
    await inspect();
    worker = spawnWorker(workerEnv());
    const outcome = await finished(jobId).catch((error: unknown) => {
      throw new Error(`${String(error)}\nworker output:\n${worker?.output() ?? ''}`);
    });
    await worker.stop();
    worker = null;
    return outcome;
  };

  /** Every object in exactly one run of the pipeline; nothing left to collect. */
  const assertCollectedOnce = async (pipelineId: string): Promise<string> => {
    const runs = await pipelineRunIds(t.service.deps, pipelineId);
    assert.equal(runs.length, 1, `one run: ${runs.join(', ')}`);
    const keys = (await readRunItems(t.service.deps, runs[0] ?? '')).map((item) => item.key);
    assert.equal(keys.length, OBJECTS);
    assert.deepEqual([...new Set(keys)].sort(), KEYS);
    assert.equal(await t.service.deps.redis.hlen(pipelineKeys.seen(prefix, pipelineId)), OBJECTS);
    assert.equal(await t.service.deps.redis.exists(pipelineKeys.claim(prefix, pipelineId)), 0);
    return runs[0] ?? '';
  };

  before(async () => {
    redis = await startRedis();
    s3 = await startS3Server();
    await s3.createBucket('uploads');
    await putMany(s3.client, 'uploads', KEYS.map((key) => ({ key, body: key })), 24);
    // The API in this process (no workers); the workers are child processes.
    t = await startTestService({ role: 'api', redis, env: { BATCHLINE_PREFIX: prefix, AWS_ENDPOINT_URL_S3: s3.endpoint } });
    events = new QueueEvents('collect', { connection: { url: redis.url }, prefix });
    events.on('progress', ({ jobId, data }) => {
      if (typeof data !== 'object' || data === null) return;
      reports.push({ jobId, progress: data as CollectProgress });
      const wake = [...onReport];
      onReport.clear();
      for (const resolve of wake) resolve();
    });
    await events.waitUntilReady();
  });
  after(async () => {
    await worker?.kill();
    await events?.close();
    await t?.close();
    await s3?.close();
    await redis?.stop();
  });

  it('killed after the first listing page: nothing was collected, the retry collects everything once', async () => {
    await definePipeline('listing');
    const outcome = await crashThenRecover(
      'listing',
      'collect:after-page:1',
      (jobId) => progressOf(jobId, (progress) => progress.stage === 'listing' && progress.pages === 1),
      async () => {
        assert.equal((await pipelineRunIds(t.service.deps, 'listing')).length, 0);
        assert.equal(await t.service.deps.redis.hlen(pipelineKeys.seen(prefix, 'listing')), 0);
      },
    );
    assert.equal(outcome.items, OBJECTS);
    assert.equal(outcome.resumed, false);
    assert.equal(outcome.runId, await assertCollectedOnce('listing'));
  });

  it('killed while marking items seen: the retry finishes the recorded run and starts no other', async () => {
    await definePipeline('marking');
    let recorded = '';
    const outcome = await crashThenRecover(
      'marking',
      'collect:after-seen-chunk:1',
      (jobId) => progressOf(jobId, (progress) => progress.stage === 'marking'),
      async () => {
        const runs = await pipelineRunIds(t.service.deps, 'marking');
        assert.equal(runs.length, 1, 'the run was recorded before the crash');
        recorded = runs[0] ?? '';
        assert.equal(await t.service.deps.redis.hlen(pipelineKeys.seen(prefix, 'marking')), 500);
        assert.equal(await t.service.deps.redis.exists(pipelineKeys.claim(prefix, 'marking')), 1);
      },
    );
    assert.equal(outcome.resumed, true);
    assert.equal(outcome.runId, recorded);
    assert.equal(await assertCollectedOnce('marking'), recorded);
  });

  it('killed after claiming but before recording the run: the claim is dropped and everything collected once', async () => {
    await definePipeline('claimed');
    const outcome = await crashThenRecover(
      'claimed',
      'collect:after-claim',
      (jobId) => progressOf(jobId, (progress) => progress.stage === 'recording'),
      async () => {
        assert.equal(await t.service.deps.redis.exists(pipelineKeys.claim(prefix, 'claimed')), 1);
        assert.equal((await pipelineRunIds(t.service.deps, 'claimed')).length, 0);
      },
    );
    assert.equal(outcome.items, OBJECTS);
    assert.equal(outcome.runId, await assertCollectedOnce('claimed'));
  });

  it('a later collection of any of them finds nothing new', async () => {
    worker = spawnWorker(workerEnv());
    for (const pipelineId of ['listing', 'marking', 'claimed']) assert.equal((await finished(await trigger(pipelineId))).runId, null);
    await worker.stop();
    worker = null;
  });
});
