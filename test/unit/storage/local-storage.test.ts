import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { LocalStorage } from '../../../src/storage/local-storage.js';
import { StorageNotFoundError } from '../../../src/storage/object-storage.js';

async function* failingAfter(chunks: string[]): AsyncGenerator<string> {
  yield* chunks;
  throw new Error('source broke');
}

describe('LocalStorage', () => {
  let dir: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'batchline-local-storage-'));
    storage = new LocalStorage(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('put, get, size and delete; urlOf is a file URL', async () => {
    await storage.put('runs/r1/input.jsonl', '{"a":1}\n');
    await storage.put('runs/r1/stream.txt', Readable.from(['a', 'b', 'c']));
    await storage.put('runs/r1/bytes.bin', Buffer.from([1, 2, 3]));
    assert.equal((await buffer(await storage.get('runs/r1/input.jsonl'))).toString(), '{"a":1}\n');
    assert.equal((await buffer(await storage.get('runs/r1/stream.txt'))).toString(), 'abc');
    assert.equal(await storage.size('runs/r1/bytes.bin'), 3);
    assert.equal(storage.urlOf('runs/r1/input.jsonl'), pathToFileURL(path.join(dir, 'runs/r1/input.jsonl')).href);

    await storage.delete('runs/r1/input.jsonl');
    await storage.delete('runs/r1/input.jsonl');
    assert.equal(await storage.size('runs/r1/input.jsonl'), null);
    await assert.rejects(storage.get('runs/r1/input.jsonl'), StorageNotFoundError);
  });

  test('putFile moves a local file into place, replacing the previous object', async () => {
    await storage.put('runs/r1/shard.jsonl', 'previous');
    const file = path.join(dir, 'work-shard.jsonl');
    await writeFile(file, '{"line":1}\n');
    await storage.putFile('runs/r1/shard.jsonl', file);
    assert.equal((await buffer(await storage.get('runs/r1/shard.jsonl'))).toString(), '{"line":1}\n');
    await assert.rejects(stat(file), { code: 'ENOENT' });
    await assert.rejects(storage.putFile('../outside.jsonl', file), /escapes the storage root/);
  });

  test('a failing source stream leaves no object and no temp file behind', async () => {
    await assert.rejects(storage.put('out/new.txt', Readable.from(failingAfter(['partial ', 'bytes']))), /source broke/);
    assert.equal(await storage.size('out/new.txt'), null);
    assert.deepEqual(await readdir(path.join(dir, 'out')), []);
  });

  test('a failed overwrite keeps the previous object whole', async () => {
    await storage.put('out/kept.txt', 'previous');
    await assert.rejects(storage.put('out/kept.txt', Readable.from(failingAfter(['new ', 'bytes']))), /source broke/);
    assert.equal((await buffer(await storage.get('out/kept.txt'))).toString(), 'previous');
    assert.deepEqual(await readdir(path.join(dir, 'out')), ['kept.txt']);
  });

  test('keys that escape the root are refused by every operation', async () => {
    for (const key of ['../outside.txt', 'a/../../outside.txt', '/etc/passwd']) {
      await assert.rejects(storage.put(key, 'x'), /escapes the storage root/, key);
      await assert.rejects(storage.get(key), /escapes the storage root/, key);
      await assert.rejects(storage.size(key), /escapes the storage root/, key);
      await assert.rejects(storage.delete(key), /escapes the storage root/, key);
    }
    assert.deepEqual(await readdir(dir), []);
  });

  test('list yields the keys under a prefix in key order, without temp files', async () => {
    for (const key of ['runs/b/2.json', 'runs/a/1.json', 'runs/a/10.json', 'runs-other/x.json', 'top.json']) {
      await storage.put(key, key);
    }
    // A write in progress (or left by a crash) is not an object.
    await writeFile(path.join(dir, 'runs/a/3.json.0000.partial'), 'half');

    const keys = async (prefix: string): Promise<string[]> => {
      const found: string[] = [];
      for await (const info of storage.list(prefix)) found.push(info.key);
      return found;
    };
    assert.deepEqual(await keys('runs/'), ['runs/a/1.json', 'runs/a/10.json', 'runs/b/2.json']);
    assert.deepEqual(await keys('runs/a/1'), ['runs/a/1.json', 'runs/a/10.json']);
    assert.deepEqual(await keys('runs'), ['runs-other/x.json', 'runs/a/1.json', 'runs/a/10.json', 'runs/b/2.json']);
    assert.deepEqual(await keys(''), ['runs-other/x.json', 'runs/a/1.json', 'runs/a/10.json', 'runs/b/2.json', 'top.json']);
    assert.deepEqual(await keys('nothing/'), []);

    for await (const info of storage.list('runs/b/')) assert.equal(info.size, 'runs/b/2.json'.length);
  });
});
