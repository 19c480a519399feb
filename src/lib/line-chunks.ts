import type { EncodedLine } from './line-file-writer.js';

/** Lines are encoded straight into chunks of this size, and a full chunk is one write onward. */
export const LINE_CHUNK_BYTES = 256 * 1024;

/**
 * Encodes lines into fixed-size chunks and hands each full one on: each
 * byte is copied once, where it lands, and the writer below makes one write
 * per chunk instead of one per line. A line longer than a chunk gets a
 * buffer of its own, handed on after what is already queued.
 */
export class LineChunks {
  private chunk: Buffer | null = null;
  private filled = 0;

  constructor(
    /** A chunk to fill: a new one, or one written before and free again. */
    private readonly takeChunk: () => Buffer,
    /** Writes bytes onward; `chunk` is the whole chunk they fill part of, null for a line's own buffer. */
    private readonly send: (bytes: Buffer, chunk: Buffer | null) => void,
  ) {}

  append(line: EncodedLine): void {
    const size = line.byteLength;
    if (size > LINE_CHUNK_BYTES) {
      this.flush();
      const own = Buffer.allocUnsafe(size);
      line.writeTo(own, 0);
      this.send(own, null);
      return;
    }
    if (this.chunk !== null && this.filled + size > LINE_CHUNK_BYTES) this.flush();
    this.chunk ??= this.takeChunk();
    line.writeTo(this.chunk, this.filled);
    this.filled += size;
  }

  /** Hands on the chunk being filled, if it holds anything. */
  flush(): void {
    const chunk = this.chunk;
    if (chunk === null || this.filled === 0) return;
    const filled = this.filled;
    this.chunk = null;
    this.filled = 0;
    this.send(chunk.subarray(0, filled), chunk);
  }
}
