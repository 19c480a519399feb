import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { readByteLineBatches, readLineBatches, readLines } from '../../../src/lib/jsonl.js';

const collect = async (chunks: Array<Buffer | string>): Promise<string[]> => {
  const lines: string[] = [];
  for await (const line of readLines(Readable.from(chunks))) lines.push(line);
  return lines;
};

const collectBytes = async (chunks: Buffer[]): Promise<string[]> => {
  const lines: string[] = [];
  for await (const batch of readByteLineBatches(Readable.from(chunks))) for (const line of batch) lines.push(line.toString('utf8'));
  return lines;
};

describe('readLines / readLineBatches', () => {
  test('a line split across chunks, even inside a multi-byte character, comes out whole', async () => {
    const text = '{"t":"café ☕ 🚀"}\n{"t":"second"}\n';
    const bytes = Buffer.from(text);
    // Cut at every byte boundary: each cut lands somewhere, including inside é, ☕ and 🚀.
    for (let cut = 1; cut < bytes.length; cut += 1) {
      assert.deepEqual(await collect([bytes.subarray(0, cut), bytes.subarray(cut)]), ['{"t":"café ☕ 🚀"}', '{"t":"second"}'], `cut at byte ${cut}`);
    }
  });

  test('a line longer than many chunks is joined once its end arrives', async () => {
    const long = `{"data":"${'x'.repeat(300_000)}"}`;
    const bytes = Buffer.from(`${long}\nnext\n`);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, index) => bytes.subarray(index * 1000, (index + 1) * 1000));
    assert.deepEqual(await collect(chunks), [long, 'next']);
  });

  test('CRLF ends a line like LF; blank and whitespace-only lines are skipped; a last line without a newline is kept', async () => {
    assert.deepEqual(await collect(['a\r\n\r\n  \t \nb\n\nc']), ['a', 'b', 'c']);
  });

  test('a lone carriage return is whitespace inside a line, not a line break', async () => {
    assert.deepEqual(await collect(['{"a":1,\r"b":2}\n']), ['{"a":1,\r"b":2}']);
  });

  test('batches hold the lines each chunk completes, in order', async () => {
    const batches: string[][] = [];
    for await (const batch of readLineBatches(Readable.from([Buffer.from('1\n2\n3'), Buffer.from('4\n5\n')]))) batches.push(batch);
    assert.deepEqual(batches, [['1', '2'], ['34', '5']]);
  });

  test('a consumer that stops early destroys the source stream', async () => {
    const source = Readable.from(['a\nb\nc\n', 'd\n'], { objectMode: false });
    for await (const line of readLines(source)) {
      assert.equal(line, 'a');
      break;
    }
    assert.equal(source.destroyed, true);
  });
});

describe('readByteLineBatches', () => {
  test('gives the same lines as readLines, as bytes, whatever the chunking', async () => {
    const text = '{"t":"café ☕"}\r\n\r\n \t \n{"t":"2"}\n\n{"a":1,\r"b":2}\nlast';
    const bytes = Buffer.from(text);
    const expected = ['{"t":"café ☕"}', '{"t":"2"}', '{"a":1,\r"b":2}', 'last'];
    for (let cut = 1; cut < bytes.length; cut += 1) {
      assert.deepEqual(await collectBytes([bytes.subarray(0, cut), bytes.subarray(cut)]), expected, `cut at byte ${cut}`);
    }
    assert.deepEqual(await collect([bytes]), expected);
  });
});
