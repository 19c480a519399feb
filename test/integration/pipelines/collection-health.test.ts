import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { watchCollectJobs, type CollectJobs } from '../../helpers/collect-jobs.js';
import { startTestService, type TestService } from '../../helpers/test-service.js';
import { pipelineKeys } from '../../../src/pipelines/pipeline-keys.js';
import { enqueue } from '../../../src/queues/stage-queues.js';

/**
 * A scheduled pipeline whose source is missing fails every tick. Its Slack
 * webhook hears of it once when it starts failing and once when it
 * recovers, never per tick, and /metrics counts every failed attempt by
 * pipeline.
 */
describe("a pipeline's collection failures are announced by change, and counted", () => {
  let t: TestService;
  let jobs: CollectJobs;
  let base: string;
  let collections = 0;

  /** One collection with a single attempt: it fails for good at once instead of after the queue's backoff. */
  const collectOnce = async (pipelineId: string): Promise<'failed' | 'ended'> => {
    collections += 1;
    const jobId = `collect-${pipelineId}-test${collections}`;
    await enqueue(t.service.deps.queues, 'collect', { pipelineId, trigger: 'manual' }, { jobId, attempts: 1 });
    try {
      await jobs.wait(jobId);
      return 'ended';
    } catch {
      return 'failed';
    }
  };

  const announcements = (pipelineId: string): string[] =>
    t.slack.messages.map((message) => message.body.text ?? '').filter((text) => text.includes(`Pipeline *${pipelineId}*: collect`));

  const failedCount = async (pipelineId: string): Promise<number> => {
    const { text } = await t.request('GET', '/metrics');
    const sample = new RegExp(`^batchline_collections_failed_total\\{pipeline="${pipelineId}"\\} (\\d+)$`, 'm').exec(text);
    return Number(sample?.[1] ?? 0);
  };

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'batchline-collection-health-'));
    t = await startTestService();
    jobs = await watchCollectJobs(t, t.redis.url, t.prefix);
  });
  after(async () => {
    await jobs?.close();
    await t?.close();
    await rm(base, { recursive: true, force: true });
  });

  it('announces the first failure and the recovery, not the ticks between', async () => {
    const folder = path.join(base, 'arrives-later');
    const defined = await t.request('PUT', '/v1/pipelines/watched', {
      // Listed at once: the file is whole when written, no settle time needed.
      source: { type: 'local', path: folder, settle_seconds: 0 },
      template: { type: 'summarize' },
      notify: { slack_webhook_url: t.slack.url },
    });
    assert.equal(defined.status, 201, defined.text);

    assert.equal(await collectOnce('watched'), 'failed');
    // Posted before the job failed: the announcement is part of recording the outcome.
    assert.deepEqual(announcements('watched'), [
      `:x: Pipeline *watched*: collection failed (source_not_found): local folder ${folder} does not exist\n` +
        'No run is started until a collection succeeds; later failures are not announced again, the recovery is. See last_collection in GET /v1/pipelines/watched.',
    ]);

    assert.equal(await collectOnce('watched'), 'failed');
    assert.equal(await collectOnce('watched'), 'failed');
    assert.equal(announcements('watched').length, 1, 'a persisting failure is announced once');
    assert.equal(await failedCount('watched'), 3);

    await mkdir(folder);
    await writeFile(path.join(folder, 'a.txt'), 'Bees pollinate crops.');
    const recovering = collectOnce('watched');
    await t.slack.waitFor((text) => text.startsWith(':white_check_mark: Pipeline *watched*'));
    // Slack is asked only once the collection lock is free: its retries and waits (a minute per 429) hold back no other collection of the pipeline.
    assert.equal(await t.service.deps.redis.exists(pipelineKeys.lock(t.prefix, 'watched')), 0, 'the lock is released before posting');
    assert.equal(await recovering, 'ended');
    const recovered = announcements('watched');
    assert.equal(recovered.length, 2);
    const runId = (await t.request('GET', '/v1/pipelines/watched')).body as { last_collection: { run_id: string } };
    assert.match(recovered[1] ?? '', new RegExp(`^:white_check_mark: Pipeline \\*watched\\*: collecting again \\(run ${runId.last_collection.run_id} started with 1 item\\), after failing since \\d{4}-\\d\\d-\\d\\dT`));

    assert.equal(await collectOnce('watched'), 'ended');
    assert.equal(announcements('watched').length, 2, 'a healthy pipeline is not announced per tick');
    assert.equal(await failedCount('watched'), 3, 'successes are not counted');
  });

  it('a first collection that succeeds announces nothing', async () => {
    const folder = path.join(base, 'present');
    await mkdir(folder);
    const defined = await t.request('PUT', '/v1/pipelines/healthy', { source: { type: 'local', path: folder }, template: { type: 'summarize' } });
    assert.equal(defined.status, 201, defined.text);
    assert.equal(await collectOnce('healthy'), 'ended');
    assert.deepEqual(announcements('healthy'), []);
    assert.equal(await failedCount('healthy'), 0);
  });
});
