import { HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { StorageNotFoundError } from '../../../src/storage/object-storage.js';
import { createS3Client } from '../../../src/storage/s3-client.js';
import { S3Storage } from '../../../src/storage/s3-storage.js';
import { countS3Commands } from '../../helpers/count-s3-commands.js';
import { startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { putMany } from '../../helpers/s3-put-many.js';

const MiB = 1024 * 1024;

describe('S3Storage against s3rver', () => {
  let s3: TestS3Server;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket('store');
  });
  after(async () => {
    await s3.close();
  });

  test('put, get, size and delete a small object under a prefix', async () => {
    const storage = new S3Storage(s3.client, 'store', 'basic');
    assert.equal(storage.urlOf('runs/r1/input.jsonl'), 's3://store/basic/runs/r1/input.jsonl');

    await storage.put('runs/r1/input.jsonl', '{"a":1}\n');
    await storage.put('runs/r1/bytes.bin', Buffer.from([0, 1, 2, 255]));
    assert.equal((await buffer(await storage.get('runs/r1/input.jsonl'))).toString(), '{"a":1}\n');
    assert.deepEqual([...(await buffer(await storage.get('runs/r1/bytes.bin')))], [0, 1, 2, 255]);
    assert.equal(await storage.size('runs/r1/input.jsonl'), 8);

    // The prefix is a folder in the bucket.
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'store', Key: 'basic/runs/r1/input.jsonl' }));
    assert.equal(head.ContentLength, 8);

    await storage.delete('runs/r1/input.jsonl');
    assert.equal(await storage.size('runs/r1/input.jsonl'), null);
    await assert.rejects(storage.get('runs/r1/input.jsonl'), (error: unknown) => {
      assert.ok(error instanceof StorageNotFoundError);
      assert.equal(error.key, 'runs/r1/input.jsonl');
      return true;
    });
    // Deleting what is already gone is not an error (re-running a cleanup is safe).
    await storage.delete('runs/r1/input.jsonl');
  });

  test('putFile uploads a local file, then deletes it', async () => {
    const storage = new S3Storage(s3.client, 'store', 'files');
    const dir = await mkdtemp(path.join(tmpdir(), 'batchline-s3-putfile-'));
    try {
      const file = path.join(dir, 'shard.jsonl');
      await writeFile(file, '{"line":1}\n');
      await storage.putFile('runs/r1/shard.jsonl', file);
      assert.equal((await buffer(await storage.get('runs/r1/shard.jsonl'))).toString(), '{"line":1}\n');
      await assert.rejects(stat(file), { code: 'ENOENT' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a missing object: size is null and get throws StorageNotFoundError', async () => {
    const storage = new S3Storage(s3.client, 'store');
    assert.equal(await storage.size('nothing/here'), null);
    await assert.rejects(storage.get('nothing/here'), StorageNotFoundError);
  });

  test('a missing bucket is an error, not an absent object', async () => {
    const storage = new S3Storage(s3.client, 'no-such-bucket');
    await assert.rejects(storage.get('a'), (error: unknown) => !(error instanceof StorageNotFoundError));
  });

  test('keys that are not relative normalised paths are refused', async () => {
    const storage = new S3Storage(s3.client, 'store', 'p/');
    for (const key of ['', '/abs', '../up', 'a/../b', 'a//b', 'a/./b', 'dir/']) {
      await assert.rejects(storage.put(key, 'x'), /storage key/, key);
    }
    // A refused stream is released, not left holding a file open.
    const stream = Readable.from(['x']);
    await assert.rejects(storage.put('../up', stream), /storage key/);
    assert.ok(stream.destroyed);
  });

  test('a streamed 20 MiB put goes up in parts and comes back byte for byte', async () => {
    const client = createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials });
    const counts = countS3Commands(client);
    const storage = new S3Storage(client, 'store', 'big');
    const total = 20 * MiB;
    const chunk = 64 * 1024;
    const sent = createHash('sha256');
    async function* generate(): AsyncGenerator<Buffer> {
      for (let offset = 0; offset < total; offset += chunk) {
        const bytes = randomBytes(chunk);
        sent.update(bytes);
        yield bytes;
      }
    }
    try {
      await storage.put('large.bin', Readable.from(generate()));
    } finally {
      client.destroy();
    }

    assert.equal(await storage.size('large.bin'), total);
    // 8 + 8 + 4 MiB parts, never a single PutObject holding the whole body.
    assert.equal(counts.get('CreateMultipartUploadCommand'), 1);
    assert.equal(counts.get('UploadPartCommand'), 3);
    assert.equal(counts.get('CompleteMultipartUploadCommand'), 1);
    assert.equal(counts.get('PutObjectCommand'), undefined);

    const received = createHash('sha256');
    let length = 0;
    for await (const piece of await storage.get('large.bin')) {
      const bytes = piece as Buffer;
      length += bytes.length;
      received.update(bytes);
    }
    // Equal length and hash: no aws-chunked framing or trailing checksum bytes were stored.
    assert.equal(length, total);
    assert.equal(received.digest('hex'), sent.digest('hex'));
  });

  test('a source stream that fails mid-upload leaves no object, old or partial', async () => {
    const storage = new S3Storage(s3.client, 'store', 'failing');
    await storage.put('target.bin', 'previous');
    async function* failing(): AsyncGenerator<Buffer> {
      // Past the first part, so a multipart upload is under way when the source breaks.
      for (let i = 0; i < 10; i++) yield Buffer.alloc(MiB, i);
      throw new Error('source broke');
    }
    const source = Readable.from(failing());
    await assert.rejects(storage.put('target.bin', source), /source broke/);
    assert.ok(source.destroyed);
    assert.equal((await buffer(await storage.get('target.bin'))).toString(), 'previous');

    await assert.rejects(storage.put('fresh.bin', Readable.from(failing())), /source broke/);
    assert.equal(await storage.size('fresh.bin'), null);
  });

  test('list pages through more than 1,000 keys, in key order, one page at a time', async () => {
    const keys = Array.from({ length: 1100 }, (_, i) => `listing/items/${String(i).padStart(5, '0')}.json`);
    await putMany(s3.client, 'store', [
      ...keys.map((key) => ({ key, body: key })),
      { key: 'listing/other/x.json', body: 'x' },
      { key: 'listing-sibling/y.json', body: 'y' },
    ]);
    // A separate client, so only this listing's requests are counted.
    const client = createS3Client({ endpoint: s3.endpoint, credentials: s3.credentials });
    const counts = countS3Commands(client);
    try {
      const storage = new S3Storage(client, 'store', 'listing/');
      const listed: string[] = [];
      for await (const info of storage.list('items/')) {
        if (listed.length === 0) {
          // The first key is out before the second page has been asked for.
          assert.equal(counts.get('ListObjectsV2Command'), 1);
        }
        assert.equal(info.size, `listing/${info.key}`.length);
        listed.push(info.key);
      }
      assert.deepEqual(listed, keys.map((key) => key.slice('listing/'.length)));
      assert.equal(counts.get('ListObjectsV2Command'), 2);

      const everything: string[] = [];
      for await (const info of storage.list('')) everything.push(info.key);
      assert.equal(everything.length, 1101);
      assert.ok(everything.includes('other/x.json'));
      assert.ok(!everything.some((key) => key.includes('sibling')));
    } finally {
      client.destroy();
    }
  });

  test('the stored object carries no checksum framing with a plain client either', async () => {
    // Guards the client settings: a streamed single-part put of unknown length.
    const storage = new S3Storage(s3.client, 'store', 'framing');
    await storage.put('small.txt', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: 'store', Prefix: 'framing/' }));
    assert.equal(page.Contents?.[0]?.Size, 11);
    assert.equal((await buffer(await storage.get('small.txt'))).toString(), 'hello world');
  });
});
