import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

const NEWLINE = 0x0a;
/**
 * Bytes queued before a write waits for the disk. Node's default (16 KB) is
 * smaller than one image request line (~70 KB), so every such line waited for
 * its own write to finish before the next was built.
 */
const QUEUED_BYTES = 1024 * 1024;

/**
 * Appends newline-terminated lines to a local file with backpressure, so a
 * shard of any size is written without being held in memory.
 */
export class LineFileWriter {
  private readonly stream: WriteStream;
  lines = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { highWaterMark: QUEUED_BYTES });
  }

  /**
   * A string is one line without its newline. A Buffer is one line already
   * encoded, newline included (see `encodeLine`): lines of tens of kilobytes
   * are encoded to UTF-8 once, by whoever builds them, and counted from the
   * bytes instead of being measured and encoded again here.
   */
  async write(line: string | Buffer): Promise<void> {
    const chunk = typeof line === 'string' ? encodeLine(line) : line;
    if (chunk[chunk.length - 1] !== NEWLINE) throw new Error('an encoded line must end with its newline');
    this.lines += 1;
    this.bytes += chunk.length;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.stream.closed) return;
    this.stream.end();
    await once(this.stream, 'close');
  }
}

/** A line's bytes as a line file holds them: UTF-8, newline-terminated. */
export function encodeLine(line: string): Buffer {
  return Buffer.from(`${line}\n`);
}
