import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

/**
 * Appends newline-terminated lines to a local file with backpressure, so a
 * shard of any size is written without being held in memory.
 */
export class LineFileWriter {
  private readonly stream: WriteStream;
  lines = 0;
  bytes = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path);
  }

  async write(line: string): Promise<void> {
    const chunk = `${line}\n`;
    this.lines += 1;
    this.bytes += Buffer.byteLength(chunk);
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.stream.closed) return;
    this.stream.end();
    await once(this.stream, 'close');
  }
}
