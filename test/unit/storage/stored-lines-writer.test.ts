import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { StoredLinesWriter } from '../../../src/storage/stored-lines-writer.js';

const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);

describe('StoredLinesWriter', () => {
  let dir: string;
  let storage: LocalStorage;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'batchline-stored-lines-'));
    storage = new LocalStorage(dir);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('stores every line, in order, once close resolves; more lines than the buffer holds go through backpressure', async () => {
    const writer = new StoredLinesWriter(storage, 'runs/a/results.ndjson');
    // About 5 MB: several times what the writer buffers, so writes wait for the upload.
    const lines = Array.from({ length: 25_000 }, (_, index) => JSON.stringify({ custom_id: `c${index}`, text: 'x'.repeat(200) }));
    for (const line of lines) await writer.write(line);
    assert.deepEqual(await storage.size('runs/a/results.ndjson'), null, 'nothing visible before close');
    await writer.close();
    assert.equal(await readFile(path.join(dir, 'runs/a/results.ndjson'), 'utf8'), `${lines.join('\n')}\n`);
    assert.equal(writer.lines, 25_000);
    await writer.abort();
    assert.equal(await storage.size('runs/a/results.ndjson'), Buffer.byteLength(`${lines.join('\n')}\n`), 'abort after close keeps the object');
  });

  test('lines appended in batches, longer than a chunk, or encoded by their producer are stored as written', async () => {
    const writer = new StoredLinesWriter(storage, 'runs/d/results.ndjson');
    const long = `{"big":"${'z'.repeat(600_000)}"}`;
    const expected: string[] = [];
    for (let batch = 0; batch < 40; batch += 1) {
      for (let index = 0; index < 500; index += 1) {
        const line = `{"b":${batch},"i":${index},"t":"ü☕${'w'.repeat(index % 97)}"}`;
        writer.append(line);
        expected.push(line);
      }
      if (batch % 10 === 3) {
        writer.append(long);
        expected.push(long);
      }
      const encoded = Buffer.from(`{"encoded":${batch}}\n`);
      writer.append({ byteLength: encoded.length, writeTo: (target, offset) => encoded.copy(target, offset) });
      expected.push(`{"encoded":${batch}}`);
      await writer.drained();
    }
    await writer.close();
    assert.equal(await readFile(path.join(dir, 'runs/d/results.ndjson'), 'utf8'), `${expected.join('\n')}\n`);
    assert.equal(writer.lines, expected.length);
  });

  test('abort stores nothing and leaves no temp file', async () => {
    const writer = new StoredLinesWriter(storage, 'runs/b/results.ndjson');
    for (let index = 0; index < 2_000; index += 1) await writer.write(`{"n":${index}}`);
    await writer.abort();
    assert.equal(await storage.size('runs/b/results.ndjson'), null);
    assert.deepEqual(await filesUnder(path.join(dir, 'runs')).then((names) => names.filter((name) => name.includes('results.ndjson.'))), []);
  });

  test('a storage that fails mid-upload makes write reject instead of waiting for ever', async () => {
    // A storage whose upload reads a little, then fails, as a broken S3 connection would.
    class FailingStorage extends LocalStorage {
      override async put(_key: string, body: Readable | Buffer | string): Promise<void> {
        for await (const chunk of body as Readable) {
          void chunk;
          throw new Error('connection reset by the storage server');
        }
      }
    }
    const failing = new FailingStorage(dir);
    const writer = new StoredLinesWriter(failing, 'runs/c/results.ndjson');
    await assert.rejects(async () => {
      for (let index = 0; index < 100_000; index += 1) await writer.write(`{"n":${index},"pad":"${'y'.repeat(100)}"}`);
      assert.fail('every write was taken although the upload had failed');
    }, /connection reset/);
    await writer.abort();
  });
});
