import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { countS3Commands } from '../../helpers/count-s3-commands.js';
import { watchCollectJobs, type CollectJobs } from '../../helpers/collect-jobs.js';
import { pipelineRunIds, readRunItems } from '../../helpers/run-items.js';
import { putMany } from '../../helpers/s3-put-many.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { startTestService, type TestService } from '../../helpers/test-service.js';
import { outputKeys } from '../../../src/runs/copy-results-to-output.js';

const BULK = 2_500;
const bulkKey = (index: number): string => `bulk/item-${String(index).padStart(5, '0')}.txt`;

/**
 * Collection from a real S3-compatible server (s3rver) into runs stored on
 * S3 (STORAGE_URL=s3://…), with real Redis and the OpenAI emulator.
 */
describe('collecting from an S3 bucket', () => {
  let s3: TestS3Server;
  let t: TestService;
  let jobs: CollectJobs;
  let commands: Map<string, number>;
  const savedEnv = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

  before(async () => {
    s3 = await startS3Server();
    await Promise.all(['uploads', 'batchline-data'].map((bucket) => s3.createBucket(bucket)));
    // The service's S3 client takes its credentials from the SDK's default chain, as in production.
    process.env['AWS_ACCESS_KEY_ID'] = s3.credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = s3.credentials.secretAccessKey;
    t = await startTestService({
      env: { STORAGE_URL: 's3://batchline-data/deployments/test', AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1' },
      // Several collections at once, as several workers would run them: the pipeline lock must serialise them.
      workerOptions: { concurrency: { collect: 4 } },
    });
    jobs = await watchCollectJobs(t, t.redis.url, t.prefix);
    commands = countS3Commands(t.service.deps.s3());
  });
  after(async () => {
    await jobs?.close();
    await t?.close();
    await s3?.close();
    process.env['AWS_ACCESS_KEY_ID'] = savedEnv.id;
    process.env['AWS_SECRET_ACCESS_KEY'] = savedEnv.secret;
  });

  const delta = async <T>(name: string, action: () => Promise<T>): Promise<{ result: T; count: number }> => {
    const before = commands.get(name) ?? 0;
    const result = await action();
    return { result, count: (commands.get(name) ?? 0) - before };
  };

  it(`collects ${BULK} objects across three listing pages exactly once, and the run completes on S3 storage`, async () => {
    const uploadStart = Date.now();
    await putMany(s3.client, 'uploads', Array.from({ length: BULK }, (_, index) => ({ key: bulkKey(index), body: `object ${index}` })), 24);
    const uploadMs = Date.now() - uploadStart;

    const defined = await t.request('PUT', '/v1/pipelines/bulk', {
      source: { type: 's3', bucket: 'uploads', prefix: 'bulk/' },
      template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Say the name {{key}} ({{size}} bytes).' },
      output: { url: `file://${t.storageDir}/outputs` },
      notify: { slack_webhook_url: t.slack.url },
    });
    assert.equal(defined.status, 201, defined.text);

    const collectStart = Date.now();
    const { result: outcome, count: lists } = await delta('ListObjectsV2Command', () => jobs.trigger('bulk'));
    const collectMs = Date.now() - collectStart;
    assert.equal(lists, 3, 'three ListObjectsV2 pages (1,000 + 1,000 + 500 keys)');
    assert.equal(outcome.pages, 3);
    assert.equal(outcome.listed, BULK);
    assert.equal(outcome.items, BULK);
    assert.ok(outcome.runId !== null);

    const items = await readRunItems(t.service.deps, outcome.runId);
    assert.equal(items.length, BULK);
    assert.equal(new Set(items.map((item) => item.key)).size, BULK);
    assert.deepEqual(Object.keys(items[0] ?? {}).sort(), ['key', 'last_modified', 'size', 'version']);

    const run = await t.waitForRunEnd(outcome.runId, 90_000);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.deepEqual(run.counts, { items: BULK, requests: BULK, succeeded: BULK, failed: 0 });
    assert.equal(run.pipeline_id, 'bulk');
    assert.ok(run.results_url?.startsWith(`s3://batchline-data/deployments/test/runs/${run.id}/`), run.results_url ?? 'no results_url');
    const results = await t.request('GET', `/v1/runs/${run.id}/results`);
    const lines = results.text.trim().split('\n').map((line) => JSON.parse(line) as { item: { key: string }; output: { text: string } });
    assert.equal(lines.length, BULK);
    assert.ok(lines.every((line) => line.output.text.includes(line.item.key)));

    // The pipeline's output holds a copy of the results under <pipeline>/<run>/.
    const copy = await readFile(path.join(t.storageDir, 'outputs', outputKeys(run).results), 'utf8');
    assert.equal(copy.trim().split('\n').length, BULK);
    process.stdout.write(`${BULK} objects: uploaded in ${uploadMs} ms, collected (3 pages) in ${collectMs} ms\n`);
  });

  it('a second collection with nothing new starts no run', async () => {
    const outcome = await jobs.trigger('bulk');
    assert.equal(outcome.runId, null);
    assert.equal(outcome.items, 0);
    assert.equal(outcome.listed, BULK);
    assert.equal((await pipelineRunIds(t.service.deps, 'bulk')).length, 1);
  });

  it('three new objects make a run of exactly those three', async () => {
    const fresh = ['bulk/new-a.txt', 'bulk/new-b.txt', 'bulk/zz/new-c.txt'];
    await putMany(s3.client, 'uploads', fresh.map((key) => ({ key, body: `fresh ${key}` })));
    const outcome = await jobs.trigger('bulk');
    assert.equal(outcome.items, 3);
    assert.ok(outcome.runId !== null);
    assert.deepEqual((await readRunItems(t.service.deps, outcome.runId)).map((item) => item.key).sort(), fresh);
  });

  it('an overwritten object is collected again, with its new version', async () => {
    const key = bulkKey(1234);
    const before = await s3.client.send(new HeadObjectCommand({ Bucket: 'uploads', Key: key }));
    await s3.client.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: 'rewritten content' }));
    const outcome = await jobs.trigger('bulk');
    assert.equal(outcome.items, 1);
    assert.ok(outcome.runId !== null);
    const [item] = await readRunItems(t.service.deps, outcome.runId);
    assert.equal(item?.key, key);
    assert.notEqual(item?.version, before.ETag?.replaceAll('"', ''));
    assert.equal((await jobs.trigger('bulk')).runId, null);
  });

  it('overlapping collections of one pipeline run one at a time: the new objects land in one run', async () => {
    const fresh = Array.from({ length: 5 }, (_, index) => `bulk/overlap-${index}.txt`);
    await putMany(s3.client, 'uploads', fresh.map((key) => ({ key, body: key })));
    const delayed = new Set<string>();
    const onDelayed = ({ jobId }: { jobId: string }) => delayed.add(jobId);
    jobs.events.on('delayed', onDelayed);
    try {
      const outcomes = await Promise.all([jobs.trigger('bulk'), jobs.trigger('bulk'), jobs.trigger('bulk')]);
      assert.deepEqual(outcomes.map((outcome) => outcome.items).sort(), [0, 0, 5]);
      assert.ok(outcomes.some((outcome) => delayed.has(outcome.jobId)), 'a collection that found the pipeline busy waited (moved to delayed)');
    } finally {
      jobs.events.off('delayed', onDelayed);
    }
    // The 2,500, the three new, the overwritten one, and these five.
    assert.equal((await pipelineRunIds(t.service.deps, 'bulk')).length, 4);
  });

  it('max_items_per_run: the rest wait for the next run', async () => {
    const keys = Array.from({ length: 10 }, (_, index) => `capped/${index}.txt`);
    await putMany(s3.client, 'uploads', keys.map((key) => ({ key, body: key })));
    await t.request('PUT', '/v1/pipelines/capped', {
      source: { type: 's3', bucket: 'uploads', prefix: 'capped/', max_items_per_run: 4 },
      template: { type: 'embeddings', model: 'text-embedding-3-small', input: '{{key}}' },
    });
    const outcomes = [];
    for (let round = 0; round < 4; round += 1) outcomes.push(await jobs.trigger('capped'));
    assert.deepEqual(outcomes.map((outcome) => outcome.items), [4, 4, 2, 0]);
    assert.deepEqual(outcomes.map((outcome) => outcome.truncated), [true, true, false, false]);
    const collected = [];
    for (const outcome of outcomes.slice(0, 3)) collected.push(...(await readRunItems(t.service.deps, outcome.runId ?? '')).map((item) => item.key));
    assert.deepEqual(collected.sort(), keys.sort());
  });

  it('content-type filters look types up only for objects not collected yet', async () => {
    await putMany(s3.client, 'uploads', [
      ...Array.from({ length: 6 }, (_, index) => ({ key: `typed/${index}.bin`, body: `png ${index}`, contentType: 'image/png' })),
      { key: 'typed/readme.bin', body: 'text', contentType: 'text/plain' },
    ]);
    await t.request('PUT', '/v1/pipelines/typed', {
      source: { type: 's3', bucket: 'uploads', prefix: 'typed/', content_types: ['image/*'] },
      template: { type: 'chat', model: 'gpt-4o-mini', prompt: '{{key}} is {{content_type}}' },
    });
    const first = await delta('HeadObjectCommand', () => jobs.trigger('typed'));
    assert.equal(first.result.items, 6);
    assert.equal(first.count, 7);
    const items = await readRunItems(t.service.deps, first.result.runId ?? '');
    assert.ok(items.every((item) => item.content_type === 'image/png'));
    // Seen objects are not looked up again; the text object, never an item, is.
    const second = await delta('HeadObjectCommand', () => jobs.trigger('typed'));
    assert.equal(second.result.runId, null);
    assert.equal(second.count, 1);
  });
});
