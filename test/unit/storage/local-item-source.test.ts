import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { createItemSource } from '../../../src/pipelines/sources/create-item-source.js';
import type { ItemSource, SourceObject } from '../../../src/pipelines/sources/item-source.js';
import { LocalItemSource } from '../../../src/pipelines/sources/local-item-source.js';
import { DEFAULT_SETTLE_SECONDS, IMAGE_SUFFIXES } from '../../../src/pipelines/sources/source-definition.js';
import { StorageNotFoundError } from '../../../src/storage/object-storage.js';

/** Keeps the bytes a source lends (they are valid only during the call). */
const copy = (bytes: Buffer): Buffer => Buffer.from(bytes);

async function listAll(source: ItemSource): Promise<SourceObject[]> {
  const all: SourceObject[] = [];
  for await (const page of source.listPages()) all.push(...page);
  return all;
}

const keysOf = async (source: ItemSource): Promise<string[]> => (await listAll(source)).map((object) => object.key);

const noS3 = (): never => assert.fail('no S3 client for a local source');

describe('local item source', () => {
  let base: string;
  let root: string;

  async function put(key: string, content: string): Promise<void> {
    const file = path.join(root, key);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }

  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'batchline-local-source-'));
    root = path.join(base, 'in');
    await mkdir(root);
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('walks the folder recursively in key order with "/" keys, skipping dotfiles', async () => {
    await put('b.txt', 'b');
    await put('a/z.txt', 'az');
    await put('a/b/c.txt', 'abc');
    await put('a-c.txt', 'a-c');
    await put('.hidden', 'no');
    await put('.git/config', 'no');
    await put('a/.DS_Store', 'no');
    await mkdir(path.join(root, 'empty'));

    const objects = await listAll(new LocalItemSource(root));
    // Full-key order, as S3 lists: "a-c.txt" < "a/…" because "-" < "/".
    assert.deepEqual(objects.map((object) => object.key), ['a-c.txt', 'a/b/c.txt', 'a/z.txt', 'b.txt']);
    const abc = objects[1];
    assert.ok(abc !== undefined);
    assert.equal(abc.size, 3);
    assert.match(abc.version, /^3-\d+(\.\d+)?$/);
    assert.ok(!Number.isNaN(Date.parse(abc.lastModified)));
    assert.equal(abc.contentType, undefined);
  });

  test('a relative folder resolves against the working directory', () => {
    const source = new LocalItemSource('some/in');
    assert.equal(source.root, path.resolve('some/in'));
    assert.equal(source.describe(), `local folder ${path.resolve('some/in')}`);
  });

  test('follows symlinks that stay inside the folder, skips those that leave it, and does not loop', async () => {
    await put('real/one.txt', '1');
    await mkdir(path.join(base, 'outside'));
    await writeFile(path.join(base, 'outside', 'secret.txt'), 'secret');
    await writeFile(path.join(base, 'outside.txt'), 'secret');
    await symlink(path.join(root, 'real', 'one.txt'), path.join(root, 'link-file.txt'));
    await symlink(path.join(root, 'real'), path.join(root, 'link-dir'));
    await symlink(path.join(base, 'outside'), path.join(root, 'out-dir'));
    await symlink(path.join(base, 'outside.txt'), path.join(root, 'out-file.txt'));
    await symlink('../../in', path.join(root, 'real', 'loop'));
    await symlink(path.join(root, 'nowhere'), path.join(root, 'dangling.txt'));

    const source = new LocalItemSource(root);
    assert.deepEqual(await keysOf(source), ['link-dir/one.txt', 'link-file.txt', 'real/one.txt']);
    await assert.rejects(source.read('out-file.txt', 10, copy), /leads outside/);
    await assert.rejects(source.read('out-dir/secret.txt', 10, copy), /leads outside/);
    assert.deepEqual(await source.read('link-file.txt', 10, copy), { ok: true, value: Buffer.from('1') });
  });

  test('read gives an item nested in folders; missing, dotted and escaping keys are refused', async () => {
    await put('docs/article.md', '# Title');
    const source = new LocalItemSource(root);
    assert.deepEqual(await source.read('docs/article.md', 100, copy), { ok: true, value: Buffer.from('# Title') });
    await assert.rejects(source.read('docs/missing.md', 100, copy), StorageNotFoundError);
    await assert.rejects(source.read('docs', 100, copy), StorageNotFoundError);
    for (const key of ['../outside.txt', 'docs/../../x', '/etc/passwd', '.hidden', 'docs//article.md', '']) {
      await assert.rejects(source.read(key, 100, copy), /not an item key/, key);
    }
  });

  test('read hands over an item whole, or too_large once more than the limit was read', async () => {
    await put('docs/article.md', '# Title');
    await put('empty.txt', '');
    // Over the 1 MB a single read takes: the rest comes in further reads.
    const big = Buffer.alloc(2.5 * 1024 * 1024 + 7, 0x61);
    await writeFile(path.join(root, 'big.bin'), big);
    const source = new LocalItemSource(root);

    const article = await source.read('docs/article.md', 100, copy);
    assert.deepEqual(article, { ok: true, value: Buffer.from('# Title') });
    assert.deepEqual(await source.read('docs/article.md', 7, copy), { ok: true, value: Buffer.from('# Title') }, 'exactly at the limit');
    const over = await source.read('docs/article.md', 6, copy);
    assert.equal(over.ok, false);
    assert.deepEqual(await source.read('empty.txt', 10, copy), { ok: true, value: Buffer.alloc(0) });
    const whole = await source.read('big.bin', big.length, copy);
    assert.ok(whole.ok && whole.value.equals(big));
    // Reading stops one byte past the limit, not at the end of the file.
    assert.deepEqual(await source.read('big.bin', 1024 * 1024 + 10, copy), { ok: false, reason: 'too_large', readBytes: 1024 * 1024 + 11 });
  });

  test('reads started together each lend their own bytes to their own use, small and large alike', async () => {
    // Sizes on both sides of the single 1 MB read, so lent views of the shared buffer and joined copies are both in play.
    const contents = Array.from({ length: 24 }, (_, index) => Buffer.alloc(index % 6 === 0 ? 1024 * 1024 + index : 1000 + index, index));
    await Promise.all(contents.map((content, index) => writeFile(path.join(root, `item-${index}.bin`), content)));
    const source = new LocalItemSource(root);

    const digests = await Promise.all(contents.map((_, index) => source.read(`item-${index}.bin`, 2 * 1024 * 1024, (bytes) => `${bytes.length}:${bytes[0]}:${bytes.at(-1)}:${bytes.every((byte) => byte === index)}`)));
    assert.deepEqual(
      digests,
      contents.map((content, index) => ({ ok: true, value: `${content.length}:${index}:${index}:true` })),
    );
  });

  test('read refuses what open refuses: missing items, folders, dotted keys and links that leave the folder', async () => {
    await put('docs/article.md', '# Title');
    await put('real/one.txt', '1');
    await writeFile(path.join(base, 'outside.txt'), 'secret');
    await symlink(path.join(root, 'real', 'one.txt'), path.join(root, 'link-file.txt'));
    await symlink(path.join(root, 'real'), path.join(root, 'link-dir'));
    await symlink(path.join(base, 'outside.txt'), path.join(root, 'out-file.txt'));
    await symlink(path.join(base, 'outside.txt'), path.join(root, 'real', 'out-file.txt'));
    const source = new LocalItemSource(root);

    assert.deepEqual(await source.read('link-file.txt', 10, copy), { ok: true, value: Buffer.from('1') });
    assert.deepEqual(await source.read('link-dir/one.txt', 10, copy), { ok: true, value: Buffer.from('1') });
    await assert.rejects(source.read('out-file.txt', 10, copy), /leads outside/);
    await assert.rejects(source.read('real/out-file.txt', 10, copy), /leads outside/);
    await assert.rejects(source.read('docs/missing.md', 10, copy), StorageNotFoundError);
    await assert.rejects(source.read('missing.md', 10, copy), StorageNotFoundError);
    await assert.rejects(source.read('docs', 10, copy), StorageNotFoundError);
    for (const key of ['../outside.txt', 'docs/../../x', '/etc/passwd', '.hidden', 'docs//article.md', '']) {
      await assert.rejects(source.read(key, 10, copy), /not an item key/, key);
    }
  });

  test('the version changes when a file changes and stays equal otherwise', async () => {
    await put('item.txt', 'first');
    const source = new LocalItemSource(root);
    const version = async (): Promise<string | undefined> => (await listAll(source))[0]?.version;
    const first = await version();
    assert.equal(await version(), first);

    // Same size, later modification time (set explicitly: the clock may not have ticked yet).
    await put('item.txt', 'FIRST');
    await utimes(path.join(root, 'item.txt'), new Date(), new Date(Date.now() + 5000));
    const second = await version();
    assert.notEqual(second, first);

    // A different size alone is enough.
    await put('item.txt', 'a longer text');
    const stamp = new Date(Date.now() + 5000);
    await utimes(path.join(root, 'item.txt'), stamp, stamp);
    const third = await version();
    assert.notEqual(third, second);
    assert.match(third ?? '', /^13-/);
  });

  test('lists in pages of 1,000', async () => {
    await Promise.all(Array.from({ length: 2001 }, (_, i) => put(`d${i % 3}/${String(i).padStart(4, '0')}.txt`, 'x')));
    const sizes: number[] = [];
    const keys: string[] = [];
    for await (const page of new LocalItemSource(root).listPages()) {
      sizes.push(page.length);
      keys.push(...page.map((object) => object.key));
    }
    assert.deepEqual(sizes, [1000, 1000, 1]);
    assert.equal(new Set(keys).size, 2001);
    assert.deepEqual(keys, [...keys].sort());
  });

  test('a missing folder is a clear error', async () => {
    await assert.rejects(listAll(new LocalItemSource(path.join(base, 'nope'))), { code: 'source_not_found', message: `local folder ${path.join(base, 'nope')} does not exist` });
  });

  test('a relative path that is missing says where the worker looked for it', async () => {
    const relative = path.relative(process.cwd(), path.join(base, 'nope'));
    await assert.rejects(listAll(new LocalItemSource(relative)), {
      code: 'source_not_found',
      message: `local folder ${path.join(base, 'nope')} does not exist (the relative path ${JSON.stringify(relative)} is resolved from the worker's working directory, ${process.cwd()})`,
    });
  });

  test('a file where the folder should be is not a folder', async () => {
    await put('plain.txt', 'not a folder');
    await assert.rejects(listAll(new LocalItemSource(path.join(root, 'plain.txt'))), { code: 'source_not_found', message: `local folder ${path.join(root, 'plain.txt')} is not a folder` });
  });

  /** Sets a file's modification time to `secondsAgo` before now (negative: in the future). */
  async function touch(key: string, secondsAgo: number): Promise<void> {
    const when = new Date(Date.now() - secondsAgo * 1000);
    await utimes(path.join(root, key), when, when);
  }

  test('a file modified within the settle time is still being written: listed once it has settled', async () => {
    await put('done.txt', 'whole');
    await touch('done.txt', 60);
    await put('slow/copying.txt', 'first sentence.');
    const source = new LocalItemSource(root, 10_000);
    assert.deepEqual(await keysOf(source), ['done.txt'], 'a file written just now waits');

    // Appended to in place, as cp or rsync --inplace do: still unsettled.
    await writeFile(path.join(root, 'slow/copying.txt'), 'first sentence. second sentence.');
    await touch('slow/copying.txt', 9);
    assert.deepEqual(await keysOf(source), ['done.txt']);

    await touch('slow/copying.txt', 11);
    const listed = await listAll(source);
    assert.deepEqual(listed.map((object) => object.key), ['done.txt', 'slow/copying.txt']);
    assert.equal(listed[1]?.size, 'first sentence. second sentence.'.length, 'listed whole');
  });

  test('a listing that outlasts the settle time still holds back a file written while it ran', async (t) => {
    await Promise.all(Array.from({ length: 1000 }, (_, i) => put(`a${String(i).padStart(4, '0')}.txt`, 'x')));
    await Promise.all(Array.from({ length: 1000 }, (_, i) => touch(`a${String(i).padStart(4, '0')}.txt`, 60)));
    await put('z-late.txt', 'partial');
    await touch('z-late.txt', 60);
    // The worker's clock, moved on by hand while the listing is paused between pages (as it is while a page is recorded).
    mock.timers.enable({ apis: ['Date'], now: Date.now() });
    t.after(() => mock.timers.reset());
    const pages = new LocalItemSource(root, 5000).listPages()[Symbol.asyncIterator]();
    const first = await pages.next();
    assert.equal(first.done, false);
    assert.equal(first.value.length, 1000);

    mock.timers.tick(60_000);
    const writtenNow = new Date(Date.now());
    await utimes(path.join(root, 'z-late.txt'), writtenNow, writtenNow);
    assert.deepEqual(await pages.next(), { done: true, value: undefined }, 'modified just now by the clock at its stat: still being written');
  });

  test('a file dated a little ahead waits (a writer\'s clock ahead of ours); one dated far ahead is listed', async () => {
    await put('skewed.txt', 'x');
    await touch('skewed.txt', -5);
    await put('far-future.txt', 'y');
    await touch('far-future.txt', -3600);
    assert.deepEqual(await keysOf(new LocalItemSource(root, 10_000)), ['far-future.txt']);
    assert.deepEqual(await keysOf(new LocalItemSource(root, 0)), ['far-future.txt', 'skewed.txt'], 'no settle time lists every file');
  });

  test('createItemSource settles local files for DEFAULT_SETTLE_SECONDS unless settle_seconds says otherwise', async () => {
    await put('settled.txt', 'a');
    await touch('settled.txt', DEFAULT_SETTLE_SECONDS + 1);
    await put('fresh.txt', 'b');
    await touch('fresh.txt', DEFAULT_SETTLE_SECONDS - 2);
    assert.deepEqual(await keysOf(createItemSource({ type: 'local', path: root }, noS3)), ['settled.txt']);
    assert.deepEqual(await keysOf(createItemSource({ type: 'local', path: root, settle_seconds: 0 }, noS3)), ['fresh.txt', 'settled.txt']);
    assert.deepEqual(await keysOf(createItemSource({ type: 'local', path: root, settle_seconds: 60 }, noS3)), []);
  });

  test('createItemSource applies suffix and size filters', async () => {
    const keys = ['photos/cat.PNG', 'photos/dog.jpeg', 'photos/huge.webp', 'photos/readme.txt', 'photos/pngs/not-an-image.png.txt'];
    await put('photos/cat.PNG', 'png');
    await put('photos/dog.jpeg', 'jpeg');
    await put('photos/huge.webp', 'x'.repeat(2000));
    await put('photos/readme.txt', 'text');
    await put('photos/pngs/not-an-image.png.txt', 'text');
    for (const key of keys) await touch(key, 60);

    const images = createItemSource({ type: 'local', path: root, suffixes: [...IMAGE_SUFFIXES], max_object_bytes: 1000 }, noS3);
    assert.deepEqual(await keysOf(images), ['photos/cat.PNG', 'photos/dog.jpeg']);
    assert.equal(images.describe(), `local folder ${root} (suffixes .png .jpg .jpeg .gif .webp, at most 1000 bytes)`);
    assert.deepEqual(await images.read('photos/cat.PNG', 10, copy), { ok: true, value: Buffer.from('png') });

    const everything = createItemSource({ type: 'local', path: root }, noS3);
    assert.equal((await keysOf(everything)).length, 5);
    assert.equal(everything.describe(), `local folder ${root}`);
  });
});
