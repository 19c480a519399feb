import type { S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createStorage, parseStorageUrl } from '../../../src/storage/create-storage.js';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { createS3Client } from '../../../src/storage/s3-client.js';
import { S3Storage } from '../../../src/storage/s3-storage.js';

describe('parseStorageUrl', () => {
  test('file URLs: relative folders resolve against the working directory', () => {
    assert.deepEqual(parseStorageUrl('file://./data'), { kind: 'file', dir: path.resolve('data') });
    assert.deepEqual(parseStorageUrl('file://data/out'), { kind: 'file', dir: path.resolve('data/out') });
    assert.deepEqual(parseStorageUrl('file://../shared'), { kind: 'file', dir: path.resolve('../shared') });
  });

  test('file URLs: absolute folders, percent-decoded as file URLs are', () => {
    assert.deepEqual(parseStorageUrl('file:///var/lib/batchline'), { kind: 'file', dir: '/var/lib/batchline' });
    assert.deepEqual(parseStorageUrl('file:///tmp/my%20data'), { kind: 'file', dir: '/tmp/my data' });
    // What LocalStorage.urlOf prints reads back as the same folder.
    const dir = '/tmp/batch line/ü';
    assert.deepEqual(parseStorageUrl(pathToFileURL(dir).href), { kind: 'file', dir });
  });

  test('s3 URLs: bucket and prefix, the prefix read as a folder', () => {
    assert.deepEqual(parseStorageUrl('s3://my-bucket'), { kind: 's3', bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseStorageUrl('s3://my-bucket/'), { kind: 's3', bucket: 'my-bucket', prefix: '' });
    assert.deepEqual(parseStorageUrl('s3://my-bucket/batchline'), { kind: 's3', bucket: 'my-bucket', prefix: 'batchline/' });
    assert.deepEqual(parseStorageUrl('s3://logs.example.com/a/b/'), { kind: 's3', bucket: 'logs.example.com', prefix: 'a/b/' });
  });

  const bad: [string, RegExp][] = [
    ['', /unsupported scheme/],
    ['./data', /unsupported scheme/],
    ['/var/data', /unsupported scheme/],
    ['http://example.com/data', /unsupported scheme/],
    ['S3://bucket/x', /unsupported scheme/],
    ['file://', /folder is missing/],
    ['s3://', /bucket name is missing/],
    ['s3:///prefix', /bucket name is missing/],
    ['s3://My_Bucket/x', /not an S3 bucket name/],
    ['s3://ab', /not an S3 bucket name/],
    ['s3://-bucket', /not an S3 bucket name/],
    ['s3://a..b', /not an S3 bucket name/],
    ['s3://bucket//x', /empty path segment/],
    ['s3://bucket/a//b', /empty path segment/],
  ];
  for (const [url, why] of bad) {
    test(`refuses ${JSON.stringify(url)}`, () => {
      assert.throws(
        () => parseStorageUrl(url),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.match(error.message, /^STORAGE_URL /);
          assert.match(error.message, why);
          assert.match(error.message, /file:\/\/DIR or s3:\/\/BUCKET\/PREFIX/);
          return true;
        },
      );
    });
  }

  test('names the setting it was given', () => {
    assert.throws(() => parseStorageUrl('ftp://x', 'output.url'), /^Error: output\.url "ftp:\/\/x" is not valid/);
  });
});

describe('createStorage', () => {
  test('file:// gives a LocalStorage and never builds an S3 client', () => {
    const storage = createStorage('file://./data', () => assert.fail('no S3 client for a local folder'));
    assert.ok(storage instanceof LocalStorage);
    assert.equal(storage.root, path.resolve('data'));
  });

  test('s3:// gives an S3Storage on the factory’s client', () => {
    const client = createS3Client({ endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    let built = 0;
    const factory = (): S3Client => {
      built++;
      return client;
    };
    try {
      const storage = createStorage('s3://results-bucket/batchline', factory);
      assert.ok(storage instanceof S3Storage);
      assert.equal(built, 1);
      assert.equal(storage.urlOf('runs/r1/results.jsonl'), 's3://results-bucket/batchline/runs/r1/results.jsonl');
    } finally {
      client.destroy();
    }
  });

  test('anything else is an error naming STORAGE_URL', () => {
    assert.throws(() => createStorage('gs://bucket/x', () => assert.fail('not reached')), /STORAGE_URL "gs:\/\/bucket\/x" is not valid/);
  });
});
