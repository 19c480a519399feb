import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CollectJobs } from '../../helpers/collect-jobs.js';
import { putMany, type ObjectToPut } from '../../helpers/s3-put-many.js';
import type { TestS3Server } from '../../helpers/s3-server.js';
import { startS3TestService, type S3TestService } from '../../helpers/s3-test-service.js';
import type { TestService } from '../../helpers/test-service.js';
import { IMAGE_SUFFIXES } from '../../../src/pipelines/sources/source-definition.js';
import { outputKeys } from '../../../src/runs/copy-results-to-output.js';

const FIXTURES = path.resolve('fixtures');
const FLAGGED = ['incoming/badge.gif', 'incoming/mosaic.jpg', 'incoming/poster.png'];

interface ResultLine {
  custom_id: string;
  item: { key: string };
  output: { text: string; flagged: boolean | null } | null;
  error: { code: string; message: string } | null;
}

/** The seed image-moderation use case, collected from a bucket: flags, per-item errors, Slack, and a copy of the results on S3. */
describe('an image-moderation pipeline over an S3 bucket', () => {
  let s3: TestS3Server;
  let t: TestService;
  let jobs: CollectJobs;
  let service: S3TestService;

  before(async () => {
    service = await startS3TestService(['photos', 'moderation-results']);
    ({ s3, t, jobs } = service);
  });
  after(async () => {
    await service?.close();
  });

  it('reports flagged images in Slack, and not-an-image and too-large items per item', async () => {
    const images = await readdir(path.join(FIXTURES, 'images'));
    const sunset = await readFile(path.join(FIXTURES, 'images', 'sunset.png'));
    const objects: ObjectToPut[] = [
      ...(await Promise.all(images.map(async (name) => ({ key: `incoming/${name}`, body: await readFile(path.join(FIXTURES, 'images', name)) })))),
      // Text with an image name: the type is sniffed from the bytes.
      { key: 'incoming/not-really.png', body: await readFile(path.join(FIXTURES, 'bad-images', 'not-really.png')) },
      // A real PNG over the template's max_image_bytes (20 KB): an item error.
      { key: 'incoming/big.png', body: Buffer.concat([sunset, Buffer.alloc(40_000)]) },
      // Over the source's max_object_bytes, and not an image suffix: not items at all.
      { key: 'incoming/huge.png', body: Buffer.alloc(1_200_000) },
      { key: 'incoming/notes.txt', body: 'not for moderation' },
    ];
    await putMany(s3.client, 'photos', objects);

    const defined = await t.request('PUT', '/v1/pipelines/moderation', {
      schedule: { cron: '0 */6 * * *' },
      source: { type: 's3', bucket: 'photos', prefix: 'incoming/', suffixes: IMAGE_SUFFIXES, max_object_bytes: 1_000_000 },
      template: { type: 'image-moderation', model: 'gpt-4o-mini', max_image_bytes: 20_000 },
      output: { url: 's3://moderation-results/reports' },
      notify: { slack_webhook_url: t.slack.url },
    });
    assert.equal(defined.status, 201, defined.text);

    const outcome = await jobs.trigger('moderation');
    assert.equal(outcome.items, images.length + 2, 'ten images, not-really.png and big.png');
    assert.ok(outcome.runId !== null);
    const run = await t.waitForRunEnd(outcome.runId);
    assert.equal(run.status, 'partial');
    assert.deepEqual(run.counts, { items: 12, requests: 10, succeeded: 10, failed: 2 });

    const results = (await t.request('GET', `/v1/runs/${run.id}/results`)).text.trim().split('\n').map((line) => JSON.parse(line) as ResultLine);
    assert.equal(results.length, 12);
    const byKey = new Map(results.map((line) => [line.item.key, line]));
    assert.equal(byKey.get('incoming/not-really.png')?.error?.code, 'not_an_image');
    assert.equal(byKey.get('incoming/big.png')?.error?.code, 'image_too_large');
    assert.match(byKey.get('incoming/big.png')?.error?.message ?? '', /over the limit of 20000 bytes/);
    assert.deepEqual(results.filter((line) => line.output?.flagged === true).map((line) => line.item.key).sort(), FLAGGED);
    assert.equal(results.filter((line) => line.output?.flagged === false).length, 7);

    const message = await t.slack.waitFor((text) => text.includes(run.id));
    assert.match(message, /Pipeline \*moderation\*/);
    assert.match(message, /Flagged: 3 images\./);
    for (const key of FLAGGED) assert.match(message, new RegExp(`• ${key.replace('.', '\\.')}: Yes\\. `), `${key} listed with its reason`);
    assert.match(message, /not_an_image: 1/);
    assert.match(message, /image_too_large: 1/);
    assert.equal(t.slack.messages.filter((m) => m.body.text?.includes(run.id)).length, 1);

    // A copy of the results and errors under the pipeline's output.url.
    const read = async (key: string): Promise<string[]> => {
      const object = await s3.client.send(new GetObjectCommand({ Bucket: 'moderation-results', Key: `reports/${key}` }));
      return (await object.Body?.transformToString('utf8') ?? '').trim().split('\n');
    };
    const keys = outputKeys(run);
    assert.equal(keys.results, `moderation/${run.id}/results.ndjson`);
    assert.equal((await read(keys.results)).length, 12);
    assert.deepEqual((await read(keys.errors)).map((line) => (JSON.parse(line) as ResultLine).item.key).sort(), ['incoming/big.png', 'incoming/not-really.png']);

    // Every item was collected once: the next collection has nothing new.
    assert.equal((await jobs.trigger('moderation')).runId, null);
  });
});
