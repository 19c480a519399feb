import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { LineFileWriter, type EncodedLine } from '../../../src/lib/line-file-writer.js';

const bytesLine = (bytes: Buffer): EncodedLine => ({
  byteLength: bytes.length + 1,
  writeTo(target, offset) {
    bytes.copy(target, offset);
    target[offset + bytes.length] = 0x0a;
  },
});

describe('LineFileWriter', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'batchline-line-writer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes text and encoded lines in order across chunks, counting lines and bytes', async () => {
    const file = path.join(dir, 'out.jsonl');
    const writer = new LineFileWriter(file);
    const expected: Buffer[] = [];
    // Lines of many sizes: small ones, ~70 KB ones that fill chunks unevenly, and one larger than a chunk.
    for (let i = 0; i < 60; i++) {
      const size = i === 30 ? 700_000 : i % 3 === 0 ? 70_000 + i : 10 + i;
      const text = `${i}:é${'x'.repeat(size)}`;
      if (i % 2 === 0) await writer.write(text);
      else await writer.write(bytesLine(Buffer.from(text)));
      expected.push(Buffer.from(`${text}\n`));
    }
    await writer.close();
    await writer.close();
    const written = await readFile(file);
    assert.ok(written.equals(Buffer.concat(expected)));
    assert.equal(writer.lines, 60);
    assert.equal(writer.bytes, written.length);
  });

  test('a file that cannot be written fails the write or the close, not the process', async () => {
    const writer = new LineFileWriter(path.join(dir, 'missing-folder', 'out.jsonl'));
    await assert.rejects(
      (async () => {
        for (let i = 0; i < 100; i++) await writer.write('x'.repeat(70_000));
        await writer.close();
      })(),
      { code: 'ENOENT' },
    );
    await writer.close();
  });
});
