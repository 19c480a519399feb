import type { Readable } from 'node:stream';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/** Keeps bytes[start, end) of a line (its newline and any trailing "\r" already cut off) as the caller's T, unless it is blank. */
type KeepLine<T> = (lines: T[], bytes: Buffer, start: number, end: number) => void;

/**
 * Yields the non-empty lines of a stream, a chunk's worth at a time (never
 * the whole body): the lines each incoming chunk completes. A caller that
 * handles a batch synchronously pays one await per chunk instead of several
 * per line, and the split is a byte search for '\n' (safe in UTF-8, where
 * that byte is never part of a longer character) instead of readline's
 * decode-then-regex. A line that spans chunks is kept as its parts and
 * joined once, when its end arrives. "\r\n" ends a line as "\n" does; a
 * lone "\r" is JSON whitespace, kept inside the line. Lines of only
 * whitespace are skipped.
 */
async function* splitLineBatches<T>(stream: Readable, keep: KeepLine<T>): AsyncIterable<T[]> {
  let pending: Buffer[] = [];
  const keepTrimmed = (lines: T[], bytes: Buffer, start: number, end: number): void => {
    const stop = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    if (stop > start) keep(lines, bytes, start, stop);
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const lines: T[] = [];
      let start = 0;
      let end = bytes.indexOf(NEWLINE);
      while (end !== -1) {
        if (pending.length > 0) {
          pending.push(bytes.subarray(start, end));
          const joined = Buffer.concat(pending);
          keepTrimmed(lines, joined, 0, joined.length);
          pending = [];
        } else {
          keepTrimmed(lines, bytes, start, end);
        }
        start = end + 1;
        end = bytes.indexOf(NEWLINE, start);
      }
      if (start < bytes.length) pending.push(bytes.subarray(start));
      if (lines.length > 0) yield lines;
    }
    if (pending.length > 0) {
      const last: T[] = [];
      const joined = Buffer.concat(pending);
      keepTrimmed(last, joined, 0, joined.length);
      if (last.length > 0) yield last;
    }
  } finally {
    // A consumer that stops early (an error, a bad line) must not leave the source open.
    if (!stream.destroyed) stream.destroy();
  }
}

/** Decodes a line as UTF-8 and keeps it unless it is blank. */
const keepText: KeepLine<string> = (lines, bytes, start, end) => {
  const line = bytes.toString('utf8', start, end);
  // Only a line starting with whitespace can be blank; the common case skips the trim.
  if (line.charCodeAt(0) <= 0x20 && line.trim() === '') return;
  lines.push(line);
};

const isJsonWhitespaceByte = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x09 || byte === CARRIAGE_RETURN;

/** Keeps a line's own bytes (a view, not a copy) unless they are all whitespace. */
const keepBytes: KeepLine<Buffer> = (lines, bytes, start, end) => {
  if (isJsonWhitespaceByte(bytes[start])) {
    let at = start;
    while (at < end && isJsonWhitespaceByte(bytes[at])) at += 1;
    if (at === end) return;
  }
  lines.push(bytes.subarray(start, end));
};

/** The non-empty lines of a stream, decoded as UTF-8, a chunk's worth at a time (see splitLineBatches). */
export const readLineBatches = (stream: Readable): AsyncIterable<string[]> => splitLineBatches(stream, keepText);

/**
 * The non-empty lines of a stream as their bytes, a chunk's worth at a time:
 * for a caller that copies parts of a line onward as they are, without
 * decoding and encoding them again. Each line is a view of the chunk it
 * arrived in, valid as long as the caller holds it.
 */
export const readByteLineBatches = (stream: Readable): AsyncIterable<Buffer[]> => splitLineBatches(stream, keepBytes);

/** Yields the non-empty lines of a stream one at a time (never the whole body). */
export async function* readLines(stream: Readable): AsyncIterable<string> {
  for await (const lines of readLineBatches(stream)) yield* lines;
}

/** Parses each line as JSON; the caller decides what a line must look like. */
export async function* readJsonLines(stream: Readable): AsyncIterable<unknown> {
  for await (const line of readLines(stream)) yield JSON.parse(line) as unknown;
}
