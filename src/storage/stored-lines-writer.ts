import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { encodeLine, type EncodedLine } from '../lib/line-file-writer.js';
import type { ObjectStorage } from './object-storage.js';

/**
 * Bytes buffered between the writer and the storage upload, about a thousand
 * result lines: with 256 KB the results join waited for the disk 185 ms of
 * its 0.55 s on a 50,000-line file, with 1 MB 100 ms; more bought nothing.
 */
const BUFFER_BYTES = 1024 * 1024;
/**
 * Lines are encoded straight into chunks of this size, and a full chunk is
 * one write to the upload: one copy of each byte, no joined string to encode.
 * Chunks are not reused: the storage's upload may hold on to a chunk after
 * taking it (an S3 part being assembled), so only the garbage collector knows
 * when one is free.
 */
const CHUNK_BYTES = 256 * 1024;

/**
 * Writes newline-terminated lines straight into a stored object, with
 * backpressure from the storage upload, instead of a local file copied to
 * storage afterwards: the bytes are written once. The object appears only
 * when `close` resolves (storage puts are all-or-nothing); `abort` drops it.
 */
export class StoredLinesWriter {
  private readonly body = new PassThrough({ highWaterMark: BUFFER_BYTES });
  private readonly stored: Promise<void>;
  private settled = false;
  private chunk: Buffer | null = null;
  private filled = 0;
  private failure: { error: unknown } | null = null;
  lines = 0;

  constructor(storage: ObjectStorage, key: string) {
    // An abort can come before the upload attaches to the body (a put first makes its folder):
    // the error reaches the caller through `stored`, not as an unhandled stream error.
    this.body.on('error', () => undefined);
    this.stored = storage.put(key, this.body);
    // Kept for the next wait to throw; a failure before then must not count as unhandled.
    this.stored.catch((error: unknown) => {
      this.failure = { error };
    });
  }

  /** Writes one line (a string is one line without its newline) and waits if the upload is behind. */
  async write(line: string | EncodedLine): Promise<void> {
    this.append(line);
    await this.drained();
  }

  /**
   * Adds a line without waiting. A caller that appends a batch of lines
   * synchronously, then awaits `drained` once, pays one wait per batch, not
   * per line; it must await `drained` between batches to keep backpressure.
   */
  append(line: string | EncodedLine): void {
    const encoded = typeof line === 'string' ? encodeLine(line) : line;
    const size = encoded.byteLength;
    this.lines += 1;
    if (size > CHUNK_BYTES) {
      // A line longer than a chunk gets a buffer of its own, after what is already queued.
      this.sendChunk();
      const own = Buffer.allocUnsafe(size);
      encoded.writeTo(own, 0);
      this.body.write(own);
      return;
    }
    if (this.chunk !== null && this.filled + size > CHUNK_BYTES) this.sendChunk();
    this.chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
    encoded.writeTo(this.chunk, this.filled);
    this.filled += size;
  }

  /** Waits until the upload has taken what it buffers beyond BUFFER_BYTES. */
  async drained(): Promise<void> {
    if (this.failure !== null) throw this.failure.error;
    // A failed upload stops reading: waiting for 'drain' alone would wait for ever.
    if (this.body.writableNeedDrain) await Promise.race([once(this.body, 'drain'), this.stored]);
  }

  /** Ends the object and waits until storage holds it whole. */
  async close(): Promise<void> {
    this.sendChunk();
    await this.drained();
    this.settled = true;
    this.body.end();
    await this.stored;
  }

  private sendChunk(): void {
    if (this.chunk === null || this.filled === 0) return;
    this.body.write(this.chunk.subarray(0, this.filled));
    this.chunk = null;
    this.filled = 0;
  }

  /** Drops the object: the upload sees a broken source and stores nothing. Safe after close. */
  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.body.destroy(new Error('the writer was aborted; nothing is stored'));
    await this.stored.catch(() => undefined);
  }
}
