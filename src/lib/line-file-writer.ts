import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { LINE_CHUNK_BYTES, LineChunks } from './line-chunks.js';

const NEWLINE = 0x0a;
/** Chunks per writer, the one being filled included: at most 1 MB waits for the disk before a write waits. */
const MAX_CHUNKS = 4;
/**
 * Chunks are reused once written: a build writes tens of thousands of
 * ~70 KB image lines, and a fresh buffer for each left the process's memory
 * allocator fragmented, so RSS grew with the run's length although nothing
 * was kept. Written chunks wait here for the next writer, whichever file it writes:
 * a build opens a new writer for every shard (two with the manifest), and
 * chunks of their own became old-generation garbage that V8 frees only at a
 * full collection, which a busy build rarely reaches, so 1–2 MB per shard
 * piled up outside the heap and the worker's RSS grew with the run. Bounded:
 * enough for a few writers at full pace, and never more idle than this.
 */
const SPARE_CHUNKS = 16;
const spareChunks: Buffer[] = [];

const takeChunk = (): Buffer => spareChunks.pop() ?? Buffer.allocUnsafe(LINE_CHUNK_BYTES);

const giveBackChunk = (chunk: Buffer): void => {
  if (spareChunks.length < SPARE_CHUNKS) spareChunks.push(chunk);
};

/** A line its producer encodes straight into the writer's chunk, without a buffer of its own. */
export interface EncodedLine {
  /** The line's bytes, newline included. */
  readonly byteLength: number;
  /** Writes exactly byteLength bytes at offset. */
  writeTo(target: Buffer, offset: number): void;
}

/**
 * Appends newline-terminated lines to a local file with backpressure, so a
 * file of any size is written without being held in memory.
 */
export class LineFileWriter {
  private readonly stream: WriteStream;
  private readonly chunks = new LineChunks(takeChunk, (bytes, chunk) => this.send(bytes, chunk));
  /** Chunks handed to the stream, oldest first; each settles once its bytes are on disk. */
  private readonly inFlight: Promise<void>[] = [];
  private failure: unknown = null;
  private failureThrown = false;
  private closing = false;
  lines = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
    // Kept and thrown from the next write or close, instead of an unhandled 'error' event.
    this.stream.on('error', (error) => {
      this.failure ??= error;
    });
  }

  /** A string is one line without its newline; an EncodedLine writes its own bytes, newline included. */
  async write(line: string | EncodedLine): Promise<void> {
    this.throwIfFailed();
    const encoded = typeof line === 'string' ? encodeLine(line) : line;
    const size = encoded.byteLength;
    this.lines += 1;
    this.bytes += size;
    this.chunks.append(encoded);
    // At most MAX_CHUNKS chunks per writer: the ones on their way to the disk and the one being filled.
    if (this.inFlight.length >= MAX_CHUNKS - 1) await this.waitForRoom();
  }

  /**
   * Writes what is left and closes the file. A failed write fails the close
   * unless a write already threw it (cleanup after that error must not throw
   * it again). Later calls do nothing.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.chunks.flush();
    if (!this.stream.destroyed) this.stream.end();
    await Promise.allSettled(this.inFlight.splice(0));
    if (!this.stream.closed) await once(this.stream, 'close').catch(() => undefined);
    if (!this.failureThrown) this.throwIfFailed();
  }

  private send(bytes: Buffer, reusable: Buffer | null): void {
    const written = new Promise<void>((resolve, reject) => {
      this.stream.write(bytes, (error) => {
        if (error !== null && error !== undefined) {
          reject(error);
          return;
        }
        if (reusable !== null) giveBackChunk(reusable);
        resolve();
      });
    });
    // Awaited by waitForRoom or close; until then a failure must not count as unhandled.
    written.catch(() => undefined);
    this.inFlight.push(written);
  }

  /** Waits until fewer than MAX_CHUNKS - 1 chunks are on their way to the disk. */
  private async waitForRoom(): Promise<void> {
    while (this.inFlight.length >= MAX_CHUNKS - 1) {
      await this.inFlight.shift()?.catch((error: unknown) => {
        this.failure ??= error;
      });
    }
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure === null) return;
    this.failureThrown = true;
    throw this.failure;
  }
}

/** A text line (without its newline) as an EncodedLine: UTF-8, newline-terminated, encoded once where it lands. */
export function encodeLine(line: string): EncodedLine {
  return {
    byteLength: Buffer.byteLength(line) + 1,
    writeTo(target, offset) {
      const end = offset + target.write(line, offset, 'utf8');
      target[end] = NEWLINE;
    },
  };
}
