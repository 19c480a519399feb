import { isAscii } from 'node:buffer';
import { forEachLineOf } from '../lib/jsonl.js';
import type { EncodedLine } from '../lib/line-file-writer.js';
import { resultOfOutputLine } from './output-line-result.js';
import type { OutputReading } from './parse-output-for-run.js';
import { rawResponseBody, type BatchOutputLine } from './raw-response-body.js';
import { isSuccess, resultLineAfterItem, resultLineResponse, resultLineStart, resultLineTail } from './result-line.js';
import { isTransientFailure } from './retry-policy.js';
import type { ShardJoinIndex } from './shard-join-index.js';

/** Bits of an encoded line's outcome. */
export const OUTCOME_SUCCEEDED = 1;
/** A failure that a retry can fix (see isTransientFailure). */
export const OUTCOME_TRANSIENT = 2;

/**
 * A block of whole lines of a batch's output (or error) file, turned into
 * their result lines except for each line's item. Parsing and encoding are
 * most of the results join's work and need nothing of the shard, so a join
 * thread does them (output-block-thread.ts); the item comes from the join's
 * index, which stays with the job, where each request is claimed once.
 * Plain arrays and bytes: it crosses threads by copy and transfer.
 */
export interface EncodedOutputBlock {
  /** Per line that is not blank, in order: its custom_id; null when it has none to be joined by (it has no result line). */
  customIds: Array<string | null>;
  /** The lines' result lines back to back, each missing only its item's value. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Per line k: bounds[2k] is where its item goes, bounds[2k + 1] where it ends; it starts where line k - 1 ends (0 for the first). */
  bounds: Int32Array<ArrayBuffer>;
  /** Per line: OUTCOME_* bits. */
  outcomes: Uint8Array<ArrayBuffer>;
}

/** A block of an output file for a join thread, with how its run reads an answer. */
export interface OutputBlockTask {
  block: Uint8Array<ArrayBuffer>;
  reading: OutputReading;
}

const NEWLINE = 0x0a;

/** A byte buffer written from the front that grows by doubling; its own ArrayBuffer, so it can be transferred. */
class GrowingBytes {
  private buffer: Buffer<ArrayBuffer>;
  length = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafeSlow(capacity);
  }

  /** UTF-8 of `text`: at most three bytes per UTF-16 unit, so room for that is made first (write would truncate). */
  text(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  bytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  byte(byte: number): void {
    this.reserve(1);
    this.buffer[this.length] = byte;
    this.length += 1;
  }

  written(): Uint8Array<ArrayBuffer> {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(size: number): void {
    if (this.length + size <= this.buffer.length) return;
    const larger = Buffer.allocUnsafeSlow(Math.max(this.buffer.length * 2, this.length + size));
    this.buffer.copy(larger, 0, 0, this.length);
    this.buffer = larger;
  }
}

/**
 * Parses each non-blank line of `block` (whole lines, "\n"- or "\r\n"-ended,
 * the last maybe unended) and encodes its result line without the item.
 * Throws on a line that is not JSON, as the join did line by line.
 */
export function encodeOutputBlock(block: Uint8Array, reading: OutputReading): EncodedOutputBlock {
  const source = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  // Result lines are about the size of the output lines they come from (the answer text again, a little more).
  const out = new GrowingBytes(Math.ceil(source.length * 1.25) + 4096);
  const customIds: Array<string | null> = [];
  const bounds: number[] = [];
  const outcomes: number[] = [];
  forEachLineOf(source, (lineStart, stop) => {
    const bytes = source.subarray(lineStart, stop);
    const raw = bytes.toString('utf8');
    const line = JSON.parse(raw) as BatchOutputLine;
    if (typeof line.custom_id !== 'string') {
      customIds.push(null);
      bounds.push(out.length, out.length);
      outcomes.push(0);
      return;
    }
    const result = resultOfOutputLine(reading, line, null);
    out.text(resultLineStart(line.custom_id));
    bounds.push(out.length);
    out.text(resultLineAfterItem(result));
    const span = result.response === null ? null : rawResponseBody(raw, line);
    // The body as it stands in the output line, its own bytes when the line is ASCII (characters
    // and bytes coincide): neither serialized nor encoded again. It is most of a result line.
    if (span === null) out.text(resultLineResponse(result));
    else if (isAscii(bytes)) out.bytes(bytes.subarray(span.start, span.end));
    else out.text(raw.slice(span.start, span.end));
    out.text(resultLineTail(result));
    out.byte(NEWLINE);
    bounds.push(out.length);
    customIds.push(line.custom_id);
    outcomes.push((isSuccess(result) ? OUTCOME_SUCCEEDED : 0) | (isTransientFailure(result) ? OUTCOME_TRANSIENT : 0));
  });
  return { customIds, bytes: out.written(), bounds: Int32Array.from(bounds), outcomes: Uint8Array.from(outcomes) };
}

/**
 * The lines of an encoded block as whole result lines, each with its item's
 * JSON bytes spliced in from the join index. One object serves every line of
 * the block in turn (`line` sets it up and returns it): the writer encodes a
 * line as it takes it, and an object per line was garbage for the collector
 * on the job's thread, which the join waits on.
 */
export class SplicedResultLines implements EncodedLine {
  byteLength = 0;
  private start = 0;
  private itemAt = 0;
  private end = 0;
  private position = 0;
  private itemBytes = 0;

  constructor(
    private readonly block: EncodedOutputBlock,
    private readonly items: Pick<ShardJoinIndex, 'itemByteLength' | 'writeItem'>,
  ) {}

  /** Line k with the item at `position` of the index; valid until the next call, so it is to be written at once. */
  line(k: number, position: number): EncodedLine {
    this.start = k === 0 ? 0 : (this.block.bounds[2 * k - 1] as number);
    this.itemAt = this.block.bounds[2 * k] as number;
    this.end = this.block.bounds[2 * k + 1] as number;
    this.position = position;
    this.itemBytes = this.items.itemByteLength(position);
    this.byteLength = this.itemAt - this.start + this.itemBytes + (this.end - this.itemAt);
    return this;
  }

  writeTo(target: Buffer, offset: number): void {
    const { bytes } = this.block;
    target.set(bytes.subarray(this.start, this.itemAt), offset);
    const at = offset + (this.itemAt - this.start);
    this.items.writeItem(this.position, target, at);
    target.set(bytes.subarray(this.itemAt, this.end), at + this.itemBytes);
  }
}
