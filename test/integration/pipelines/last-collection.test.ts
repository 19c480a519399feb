import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CollectJobs } from '../../helpers/collect-jobs.js';
import type { TestS3Server } from '../../helpers/s3-server.js';
import { startS3TestService, type S3TestService } from '../../helpers/s3-test-service.js';
import type { TestService } from '../../helpers/test-service.js';
import { LastCollections, type LastCollection } from '../../../src/pipelines/collection/last-collection.js';
import { pipelineKeys } from '../../../src/pipelines/pipeline-keys.js';
import type { PipelineView } from '../../../src/pipelines/pipeline-registry.js';

/**
 * The worker records how each collection ended, so a source the API cannot
 * check (a folder on the worker's machine, a bucket it may not list) shows
 * its failure in GET /v1/pipelines instead of only in the worker's log.
 */
describe('a pipeline shows its last collection', () => {
  let s3: TestS3Server;
  let t: TestService;
  let jobs: CollectJobs;
  let base: string;
  let service: S3TestService;

  const define = async (id: string, source: unknown): Promise<void> => {
    const defined = await t.request('PUT', `/v1/pipelines/${id}`, { source, template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Name {{key}}' } });
    assert.equal(defined.status, 201, defined.text);
  };

  const trigger = async (id: string): Promise<string> => {
    const response = await t.request('POST', `/v1/pipelines/${id}/trigger`);
    assert.equal(response.status, 202, response.text);
    return (response.body as { job_id: string }).job_id;
  };

  const view = async (id: string): Promise<PipelineView> => {
    const response = await t.request('GET', `/v1/pipelines/${id}`);
    assert.equal(response.status, 200, response.text);
    return response.body as PipelineView;
  };

  /** Polls GET until the pipeline's last collection is one of `jobId` that `accept` takes, or the deadline passes. */
  const waitForCollection = async (id: string, jobId: string, accept: (collection: LastCollection) => boolean, timeoutMs = 20_000): Promise<LastCollection> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = (await view(id)).last_collection;
      if (last !== null && last.job_id === jobId && accept(last)) return last;
      if (Date.now() > deadline) throw new Error(`pipeline ${id}: no matching last_collection for job ${jobId} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'batchline-last-collection-'));
    // No bucket: the s3 pipeline names one that does not exist.
    service = await startS3TestService([]);
    ({ s3, t, jobs } = service);
  });
  after(async () => {
    await service?.close();
    await rm(base, { recursive: true, force: true });
  });

  it('is null before any collection', async () => {
    await define('fresh', { type: 'local', path: base });
    assert.equal((await view('fresh')).last_collection, null);
  });

  it('a missing folder shows failed at the first attempt, and the retry that finds the folder shows its run', async () => {
    const folder = path.join(base, 'arrives-later');
    // Files written just now are collected at once: no settle time.
    await define('late-folder', { type: 'local', path: folder, settle_seconds: 0 });
    const jobId = await trigger('late-folder');

    // Seen while the job still has attempts left: nobody waits for every retry to learn what is wrong.
    const failed = await waitForCollection('late-folder', jobId, (last) => last.outcome === 'failed');
    assert.deepEqual({ ...failed, finished_at: '' }, {
      finished_at: '',
      job_id: jobId,
      outcome: 'failed',
      run_id: null,
      items: 0,
      error: { code: 'source_not_found', message: `local folder ${folder} does not exist` },
      will_retry: true,
    });
    assert.ok(Date.parse(failed.finished_at) <= Date.now());
    const listed = (await t.request('GET', '/v1/pipelines')).body as { data: PipelineView[] };
    assert.deepEqual(listed.data.find((pipeline) => pipeline.id === 'late-folder')?.last_collection, failed);

    await mkdir(folder);
    await writeFile(path.join(folder, 'a.txt'), 'alpha');
    const outcome = await jobs.wait(jobId);
    assert.equal(outcome.items, 1);
    const succeeded = (await view('late-folder')).last_collection;
    assert.deepEqual({ ...succeeded, finished_at: '' }, { finished_at: '', job_id: jobId, outcome: 'run_started', run_id: outcome.runId, items: 1, error: null, will_retry: false });
    // A failure its own retry mended was never given up on: no Slack message of failure or recovery.
    assert.deepEqual(t.slack.messages.filter((message) => message.body.text?.includes('*late-folder*') === true), []);
  });

  it('a collection that finds items shows its run; the next, with nothing new, shows nothing_new', async () => {
    const folder = path.join(base, 'items');
    await mkdir(folder);
    await writeFile(path.join(folder, 'a.txt'), 'alpha');
    await writeFile(path.join(folder, 'b.txt'), 'bravo');
    await define('items', { type: 'local', path: folder, settle_seconds: 0 });

    const first = await jobs.trigger('items');
    assert.equal(first.items, 2);
    const started = (await view('items')).last_collection;
    assert.equal(started?.outcome, 'run_started');
    assert.equal(started?.run_id, first.runId);
    assert.equal(started?.items, 2);
    assert.equal(started?.job_id, first.jobId);
    assert.equal(started?.error, null);
    assert.equal((await t.request('GET', `/v1/runs/${first.runId}`)).status, 200, 'the run id names a run');

    const second = await jobs.trigger('items');
    assert.equal(second.runId, null);
    const nothing = (await view('items')).last_collection;
    assert.deepEqual({ ...nothing, finished_at: '' }, { finished_at: '', job_id: second.jobId, outcome: 'nothing_new', run_id: null, items: 0, error: null, will_retry: false });
    assert.ok(Date.parse(nothing?.finished_at ?? '') >= Date.parse(started?.finished_at ?? ''));
  });

  it('a bucket that does not exist shows what S3 answered', async () => {
    await define('no-bucket', { type: 's3', bucket: 'no-such-bucket', prefix: 'images/' });
    const jobId = await trigger('no-bucket');
    const failed = await waitForCollection('no-bucket', jobId, (last) => last.outcome === 'failed');
    assert.equal(failed.error?.code, 'source_not_found');
    assert.match(failed.error?.message ?? '', /^s3:\/\/no-such-bucket\/images\/: NoSuchBucket \(HTTP 404\): /);
    assert.doesNotMatch(failed.error?.message ?? '', new RegExp(s3.credentials.secretAccessKey));
  });

  it('DELETE removes the record, and an attempt that ends after it records nothing', async () => {
    await define('gone', { type: 'local', path: path.join(base, 'never-there') });
    const jobId = await trigger('gone');
    await waitForCollection('gone', jobId, (last) => last.outcome === 'failed');
    const key = pipelineKeys.lastCollection(t.prefix, 'gone');
    assert.equal(await t.service.deps.redis.exists(key), 1);

    assert.equal((await t.request('DELETE', '/v1/pipelines/gone')).status, 204);
    assert.equal(await t.service.deps.redis.exists(key), 0);
    // The job's next attempt finds the pipeline gone and ends without a record.
    assert.equal((await jobs.wait(jobId)).skipped, 'pipeline_deleted');
    assert.equal(await t.service.deps.redis.exists(key), 0);

    await define('gone', { type: 'local', path: base });
    assert.equal((await view('gone')).last_collection, null, 'a new pipeline under the same id starts afresh');
  });

  it('an older collection that ends late does not replace a newer outcome', async () => {
    await define('ordered', { type: 'local', path: base });
    const records = new LastCollections(t.service.deps.redis, t.prefix);
    const collection = (jobId: string, outcome: LastCollection['outcome']): LastCollection => ({
      finished_at: new Date().toISOString(),
      job_id: jobId,
      outcome,
      run_id: null,
      items: 0,
      error: outcome === 'failed' ? { code: 'collection_interrupted', message: 'lost its lock' } : null,
      will_retry: false,
    });
    const now = await records.clock();
    assert.equal((await records.record('ordered', now, collection('newer', 'nothing_new'))).written, true);
    assert.equal((await records.record('ordered', now - 1_000_000, collection('older', 'failed'))).written, false);
    assert.equal((await view('ordered')).last_collection?.job_id, 'newer');
    assert.equal((await records.record('ordered', now + 1, collection('next', 'nothing_new'))).written, true);
    assert.equal((await view('ordered')).last_collection?.job_id, 'next');

    assert.equal((await records.record('never-defined', now, collection('stray', 'failed'))).written, false, 'no record without a pipeline');
    assert.equal(await t.service.deps.redis.exists(pipelineKeys.lastCollection(t.prefix, 'never-defined')), 0);
  });
});
