import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LINE_CHUNK_BYTES, LineChunks } from '../../../src/lib/line-chunks.js';
import { encodeLine } from '../../../src/lib/line-file-writer.js';

/** A chunker whose chunks come from a counter and whose sends are recorded. */
const recording = (): { chunks: LineChunks; sent: Array<{ text: string; whole: boolean }>; taken: () => number } => {
  const sent: Array<{ text: string; whole: boolean }> = [];
  let taken = 0;
  const chunks = new LineChunks(
    () => {
      taken += 1;
      return Buffer.alloc(LINE_CHUNK_BYTES);
    },
    (bytes, chunk) => sent.push({ text: bytes.toString(), whole: chunk !== null }),
  );
  return { chunks, sent, taken: () => taken };
};

describe('LineChunks', () => {
  test('fills a chunk to its last byte before handing it on, and starts the next with the line that did not fit', () => {
    const { chunks, sent, taken } = recording();
    const half = 'a'.repeat(LINE_CHUNK_BYTES / 2 - 1);
    chunks.append(encodeLine(half));
    chunks.append(encodeLine(half));
    assert.equal(sent.length, 0, 'an exactly full chunk waits for the next line or the flush');
    chunks.append(encodeLine('b'));
    assert.deepEqual(sent, [{ text: `${half}\n${half}\n`, whole: true }]);
    chunks.flush();
    assert.deepEqual(sent[1], { text: 'b\n', whole: true });
    assert.equal(taken(), 2);
  });

  test('a line longer than a chunk goes in a buffer of its own, after what was queued; a flush with nothing queued sends nothing', () => {
    const { chunks, sent, taken } = recording();
    const long = 'é'.repeat(LINE_CHUNK_BYTES);
    chunks.append(encodeLine('first'));
    chunks.append(encodeLine(long));
    chunks.flush();
    chunks.flush();
    assert.deepEqual(sent, [
      { text: 'first\n', whole: true },
      { text: `${long}\n`, whole: false },
    ]);
    assert.equal(taken(), 1);
  });
});
