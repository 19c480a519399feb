import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createItemSource } from '../../../src/pipelines/sources/create-item-source.js';
import type { ItemSource, SourceObject } from '../../../src/pipelines/sources/item-source.js';
import { S3ItemSource } from '../../../src/pipelines/sources/s3-item-source.js';
import { IMAGE_SUFFIXES } from '../../../src/pipelines/sources/source-definition.js';
import { StorageNotFoundError } from '../../../src/storage/object-storage.js';
import { createS3Client } from '../../../src/storage/s3-client.js';
import { countS3Commands } from '../../helpers/count-s3-commands.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { putMany } from '../../helpers/s3-put-many.js';

/** Keeps the bytes a source lends (they are valid only during the call). */
const copy = (bytes: Buffer): Buffer => Buffer.from(bytes);

async function listAll(source: ItemSource): Promise<SourceObject[]> {
  const all: SourceObject[] = [];
  for await (const page of source.listPages()) all.push(...page);
  return all;
}

describe('S3 item source against s3rver', () => {
  let s3: TestS3Server;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket('uploads');
  });
  after(async () => {
    await s3.close();
  });

  test('2,500 objects come in three pages, every key exactly once, pages yielded as they arrive', async () => {
    const keys = Array.from({ length: 2500 }, (_, i) => `many/${String(i).padStart(4, '0')}.png`);
    await putMany(s3.client, 'uploads', [...keys.map((key) => ({ key, body: `image ${key}` })), { key: 'many-not/x.png', body: 'x' }]);

    const client = createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials });
    const counts = countS3Commands(client);
    try {
      const source = new S3ItemSource(client, 'uploads', 'many/');
      assert.equal(source.describe(), 's3://uploads/many/');
      const pageSizes: number[] = [];
      const seen = new Set<string>();
      for await (const page of source.listPages()) {
        // Each page is handed over before the next one is requested.
        assert.equal(counts.get('ListObjectsV2Command'), pageSizes.length + 1);
        pageSizes.push(page.length);
        for (const object of page) {
          assert.ok(!seen.has(object.key), `listed twice: ${object.key}`);
          seen.add(object.key);
        }
      }
      assert.deepEqual(pageSizes, [1000, 1000, 500]);
      assert.deepEqual([...seen].sort(), keys);
    } finally {
      client.destroy();
    }
  });

  test('objects carry the ETag as version, size and a second-precision date; open streams the bytes', async () => {
    await putMany(s3.client, 'uploads', [
      { key: 'meta/a.txt', body: 'alpha' },
      { key: 'meta/sub/b.txt', body: 'bravo!' },
      { key: 'meta/folder/', body: '' },
    ]);
    const source = new S3ItemSource(s3.client, 'uploads', 'meta/');
    const objects = await listAll(source);
    // The console's zero-byte "folder" placeholder is not an item.
    assert.deepEqual(objects.map((object) => object.key), ['meta/a.txt', 'meta/sub/b.txt']);
    const [a] = objects;
    assert.ok(a !== undefined);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'meta/a.txt' }));
    assert.equal(a.version, head.ETag?.replaceAll('"', ''));
    assert.doesNotMatch(a.version, /"/);
    assert.equal(a.size, 5);
    assert.match(a.lastModified, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    assert.equal(a.contentType, undefined);

    assert.deepEqual(await source.read('meta/sub/b.txt', 6, copy), { ok: true, value: Buffer.from('bravo!') });
    assert.deepEqual(await source.read('meta/sub/b.txt', 5, copy), { ok: false, reason: 'too_large', readBytes: 6 });
    await assert.rejects(source.read('meta/gone.txt', 10, copy), StorageNotFoundError);
    await assert.rejects(source.read('elsewhere/a.txt', 10, copy), /outside s3:\/\/uploads\/meta\//);
  });

  test('the version changes with the content and stays put without a change', async () => {
    const source = new S3ItemSource(s3.client, 'uploads', 'versions/');
    const version = async (): Promise<string | undefined> => (await listAll(source))[0]?.version;
    await s3.client.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'versions/x.txt', Body: 'first' }));
    const first = await version();
    assert.equal(await version(), first);
    await s3.client.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'versions/x.txt', Body: 'other' }));
    const second = await version();
    assert.notEqual(second, first);
    // Rewriting the same bytes is not a new item.
    await s3.client.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'versions/x.txt', Body: 'other' }));
    assert.equal(await version(), second);
  });

  test('createItemSource applies suffix, size and content-type filters in the listing', async () => {
    await putMany(s3.client, 'uploads', [
      { key: 'filtered/cat.PNG', body: 'png bytes', contentType: 'image/png' },
      { key: 'filtered/dog.jpg', body: 'jpeg bytes', contentType: 'image/jpeg' },
      { key: 'filtered/big.webp', body: 'x'.repeat(5000), contentType: 'image/webp' },
      { key: 'filtered/notes.txt', body: 'text', contentType: 'text/plain' },
      { key: 'filtered/fake.gif', body: 'not really a gif', contentType: 'text/plain; charset=utf-8' },
    ]);
    const client = createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials });
    const counts = countS3Commands(client);
    try {
      const images = createItemSource(
        { type: 's3', bucket: 'uploads', prefix: 'filtered/', suffixes: [...IMAGE_SUFFIXES], max_object_bytes: 1000 },
        () => client,
      );
      assert.deepEqual((await listAll(images)).map((object) => object.key), ['filtered/cat.PNG', 'filtered/dog.jpg', 'filtered/fake.gif']);
      assert.match(images.describe(), /^s3:\/\/uploads\/filtered\/ \(suffixes .png .jpg .jpeg .gif .webp, at most 1000 bytes\)$/);
      // No content types asked for: no HeadObject per object.
      assert.equal(counts.get('HeadObjectCommand'), undefined);

      const typed = createItemSource(
        { type: 's3', bucket: 'uploads', prefix: 'filtered/', suffixes: [...IMAGE_SUFFIXES], content_types: ['image/*'] },
        () => client,
      );
      const listed = await listAll(typed);
      assert.deepEqual(
        listed.map((object) => [object.key, object.contentType]),
        [
          ['filtered/big.webp', 'image/webp'],
          ['filtered/cat.PNG', 'image/png'],
          ['filtered/dog.jpg', 'image/jpeg'],
        ],
      );
      // Only the four suffix matches were looked up, not notes.txt.
      assert.equal(counts.get('HeadObjectCommand'), 4);

      const exact = createItemSource({ type: 's3', bucket: 'uploads', prefix: 'filtered/', content_types: ['IMAGE/JPEG', 'text/plain'] }, () => client);
      assert.deepEqual((await listAll(exact)).map((object) => object.key), ['filtered/dog.jpg', 'filtered/fake.gif', 'filtered/notes.txt']);
    } finally {
      client.destroy();
    }
  });
});
