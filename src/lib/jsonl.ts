import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/** Yields the non-empty lines of a stream one at a time (never the whole body). */
export async function* readLines(stream: Readable): AsyncIterable<string> {
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of reader) {
      if (line.trim() !== '') yield line;
    }
  } finally {
    reader.close();
    if (!stream.destroyed) stream.destroy();
  }
}

/** Parses each line as JSON; the caller decides what a line must look like. */
export async function* readJsonLines(stream: Readable): AsyncIterable<unknown> {
  for await (const line of readLines(stream)) yield JSON.parse(line) as unknown;
}
