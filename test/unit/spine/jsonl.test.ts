import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { forEachLineOf, InvalidUtf8Error, LineTooLongError, readLineBatches, readLineBlocks, readLines } from '../../../src/lib/jsonl.js';

const collect = async (chunks: Array<Buffer | string>): Promise<string[]> => {
  const lines: string[] = [];
  for await (const line of readLines(Readable.from(chunks))) lines.push(line);
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

  test('with keepBlankLines, every line comes out, a blank one as "", so a reader can number lines as an editor does', async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from(['a\r\n\r\n  \t \nb', '\n\nc\n', '\n']), { keepBlankLines: true })) lines.push(line);
    assert.deepEqual(lines, ['a', '', '', 'b', '', 'c', '']);
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

  test('a line up to maxLineBytes passes, whether whole in a chunk, split across chunks or last without a newline', async () => {
    const read = async (chunks: string[]): Promise<string[]> => {
      const lines: string[] = [];
      for await (const line of readLines(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), { maxLineBytes: 4 })) lines.push(line);
      return lines;
    };
    assert.deepEqual(await read(['abc\r\n\n', 'ab', 'cd\n', 'wxyz']), ['abc', 'abcd', 'wxyz']);
    for (const chunks of [['ab\nabcde\n'], ['ab\nabc', 'de\nz\n'], ['ab\n\nabcde']]) {
      await assert.rejects(read(chunks), (error: unknown) => error instanceof LineTooLongError && error.maxLineBytes === 4 && /^line (2|3) is longer than 4 bytes$/.test(error.message), chunks.join('|'));
    }
  });

  test('a line past maxLineBytes stops the read there: a line that never ends costs the limit, not the stream', async () => {
    let pulled = 0;
    // An endless line, one 64 KB chunk at a time.
    const endless = Readable.from(
      (function* () {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(64 * 1024, 'x');
        }
      })(),
    );
    await assert.rejects(async () => {
      for await (const line of readLines(endless, { maxLineBytes: 1024 * 1024 })) assert.fail(`no line expected, got ${line.length} bytes`);
    }, LineTooLongError);
    // 17 chunks pass 1 MB; the stream may have read a few ahead of the consumer.
    assert.ok(pulled <= 17 + 4, `read ${pulled} chunks`);
    assert.equal(endless.destroyed, true);
  });
});

describe('readLines with refuseInvalidUtf8', () => {
  const read = async (chunks: Buffer[]): Promise<string[]> => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from(chunks), { refuseInvalidUtf8: true, keepBlankLines: true })) lines.push(line);
    return lines;
  };
  const cutsOf = (bytes: Buffer, cut: number): Buffer[] => [bytes.subarray(0, cut), bytes.subarray(cut)];

  test('valid text cut anywhere, even inside a character, passes whole', async () => {
    const bytes = Buffer.from('{"t":"café ☕ 🚀"}\n\n{"t":"€"}\n{"t":"last"}');
    for (let cut = 1; cut < bytes.length; cut += 1) {
      assert.deepEqual(await read(cutsOf(bytes, cut)), ['{"t":"café ☕ 🚀"}', '', '{"t":"€"}', '{"t":"last"}'], `cut at byte ${cut}`);
    }
  });

  test('a bad byte is named by its line wherever the chunks are cut: in a whole line, a joined one, or the last', async () => {
    const good = Buffer.from('{"t":"é"}\n');
    for (const [bad, line] of [
      [Buffer.concat([good, good, Buffer.from('{"t":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n'), good]), 3],
      [Buffer.concat([good, Buffer.from('{"t":"'), Buffer.from([0xf0, 0x9f]), Buffer.from('"}')]), 2],
      [Buffer.concat([good, Buffer.from([0xc0, 0xaf]), Buffer.from('\n')]), 2],
    ] as const) {
      for (let cut = 1; cut < bad.length; cut += 1) {
        await assert.rejects(read(cutsOf(bad, cut)), (error: unknown) => error instanceof InvalidUtf8Error && error.line === line, `cut at byte ${cut}`);
      }
      await assert.rejects(read([bad]), (error: unknown) => error instanceof InvalidUtf8Error && error.line === line);
    }
  });

  test('without the option, a bad byte is decoded as U+FFFD as before', async () => {
    assert.deepEqual(await collect([Buffer.from([0x61, 0xff, 0x0a])]), ['a\uFFFD']);
  });
});

describe('readLineBlocks', () => {
  const blocksOf = async (chunks: Buffer[], minBytes: number): Promise<Buffer[]> => {
    const blocks: Buffer[] = [];
    for await (const block of readLineBlocks(Readable.from(chunks), minBytes)) blocks.push(block);
    return blocks;
  };
  const lines = Array.from({ length: 40 }, (_, index) => `{"n":${index},"t":"${'é'.repeat(index % 7)}"}`);
  const text = Buffer.from(`${lines.join('\n')}\n`);

  test('cuts whole lines into blocks of at least minBytes, whatever the chunking, losing nothing', async () => {
    for (const chunkSize of [1, 7, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < text.length; at += chunkSize) chunks.push(text.subarray(at, at + chunkSize));
      const blocks = await blocksOf(chunks, 100);
      assert.equal(Buffer.concat(blocks).toString(), text.toString(), `chunks of ${chunkSize}`);
      for (const [index, block] of blocks.entries()) {
        assert.equal(block[block.length - 1], 0x0a, 'a block ends with a newline');
        if (index < blocks.length - 1) assert.ok(block.length >= 100, `block ${index} holds at least minBytes (${block.length})`);
        // Its own memory: transferable to a thread without moving anything else.
        assert.equal(block.byteOffset, 0);
        assert.equal(block.buffer.byteLength, block.length);
      }
    }
  });

  test('gives a last line without its newline, and a line longer than minBytes whole', async () => {
    const long = `{"t":"${'x'.repeat(500)}"}`;
    const blocks = await blocksOf([Buffer.from(`{"a":1}\n${long.slice(0, 200)}`), Buffer.from(long.slice(200)), Buffer.from('\n{"b":2}')], 50);
    assert.deepEqual(
      blocks.map((block) => block.toString()),
      [`{"a":1}\n${long}\n`, '{"b":2}'],
    );
  });

  test('closes its source when the reader stops early', async () => {
    const source = Readable.from([text, text]);
    for await (const block of readLineBlocks(source, 10)) {
      assert.ok(block.length > 0);
      break;
    }
    assert.equal(source.destroyed, true);
  });
});

describe('forEachLineOf', () => {
  test('gives each non-blank line of a block without its ending: "\\n", "\\r\\n", or none for the last', () => {
    const bytes = Buffer.from('{"a":1}\r\n\n  \t\r\n{"b":"ü"}\n \r{"c":3}\n{"d":4}');
    const lines: string[] = [];
    forEachLineOf(bytes, (start, stop) => lines.push(bytes.toString('utf8', start, stop)));
    assert.deepEqual(lines, ['{"a":1}', '{"b":"ü"}', ' \r{"c":3}', '{"d":4}']);
  });

  test('gives nothing for an empty or all-blank block', () => {
    for (const text of ['', '\n', '\r\n \n\t\n']) {
      let count = 0;
      forEachLineOf(Buffer.from(text), () => (count += 1));
      assert.equal(count, 0, JSON.stringify(text));
    }
  });
});
