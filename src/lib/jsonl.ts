import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface LineReading {
  /**
   * Yield a blank line (empty or only whitespace) as "" instead of skipping
   * it, for a reader that names lines by their number in the file, as an
   * editor counts them.
   */
  keepBlankLines?: boolean;
  /**
   * The most bytes one line may hold before its "\n" (a "\r" before it
   * counts, which keeps the test to one comparison); a longer line throws
   * LineTooLongError as soon as more bytes of it have arrived, so reading
   * it costs the limit in memory, not the line.
   */
  maxLineBytes?: number;
  /**
   * Throw InvalidUtf8Error for a line that is not valid UTF-8, instead of
   * decoding its bad bytes as U+FFFD. Checked natively, a chunk's whole
   * lines in one call; a line is looked at alone only to name a bad one.
   */
  refuseInvalidUtf8?: boolean;
}

/** A line that is not valid UTF-8; `line` counts as LineTooLongError's does. */
export class InvalidUtf8Error extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is not valid UTF-8`);
    this.name = 'InvalidUtf8Error';
  }
}

/** A line longer than the reader's maxLineBytes; `line` counts every line of the stream, blank ones too, from 1. */
export class LineTooLongError extends Error {
  constructor(
    readonly line: number,
    readonly maxLineBytes: number,
  ) {
    super(`line ${line} is longer than ${maxLineBytes} bytes`);
    this.name = 'LineTooLongError';
  }
}

/**
 * Yields the non-empty lines of a stream, a chunk's worth at a time (never
 * the whole body): the lines each incoming chunk completes. A caller that
 * handles a batch synchronously pays one await per chunk instead of several
 * per line, and the split is a byte search for '\n' (safe in UTF-8, where
 * that byte is never part of a longer character) instead of readline's
 * decode-then-regex. A line that spans chunks is kept as its parts and
 * joined once, when its end arrives. "\r\n" ends a line as "\n" does; a
 * lone "\r" is JSON whitespace, kept inside the line. Lines of only
 * whitespace are skipped (or yielded as "", with keepBlankLines).
 */
export async function* readLineBatches(stream: Readable, options: LineReading = {}): AsyncIterable<string[]> {
  const maxLineBytes = options.maxLineBytes ?? Infinity;
  let pending: Buffer[] = [];
  /** Bytes held in `pending`: a line that grows past the limit is refused there, before more of it is kept. */
  let pendingBytes = 0;
  let linesDone = 0;
  const refuseIfLong = (bytes: number): void => {
    if (bytes > maxLineBytes) throw new LineTooLongError(linesDone + 1, maxLineBytes);
  };
  const keepBlank = options.keepBlankLines === true;
  const refuseInvalidUtf8 = options.refuseInvalidUtf8 === true;
  /** Set for a chunk whose whole lines failed the UTF-8 check together: each of its lines is then checked alone, to name the bad one. */
  let checkEachLine = false;
  /** Decodes bytes[start, end) (its newline cut off) as UTF-8 and keeps it; a blank one only as "" with keepBlankLines. */
  const keepTrimmed = (lines: string[], bytes: Buffer, start: number, end: number, checkUtf8: boolean): void => {
    if (checkUtf8 && !isUtf8(bytes.subarray(start, end))) throw new InvalidUtf8Error(linesDone + 1);
    const stop = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    const line = stop === start ? '' : bytes.toString('utf8', start, stop);
    // Only a line starting with whitespace can be blank; the common case skips the trim.
    if (line === '' || (line.charCodeAt(0) <= 0x20 && line.trim() === '')) {
      if (keepBlank) lines.push('');
    } else lines.push(line);
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const lines: string[] = [];
      let start = 0;
      let end = bytes.indexOf(NEWLINE);
      if (refuseInvalidUtf8 && end !== -1) {
        // The lines that start and end in this chunk, in one native pass; a line joined from parts is checked as it is joined.
        const wholeFrom = pending.length > 0 ? end + 1 : 0;
        const wholeTo = bytes.lastIndexOf(NEWLINE);
        checkEachLine = wholeTo > wholeFrom && !isUtf8(bytes.subarray(wholeFrom, wholeTo));
      }
      while (end !== -1) {
        refuseIfLong(pendingBytes + end - start);
        if (pending.length > 0) {
          pending.push(bytes.subarray(start, end));
          const joined = Buffer.concat(pending);
          keepTrimmed(lines, joined, 0, joined.length, refuseInvalidUtf8);
          pending = [];
          pendingBytes = 0;
        } else {
          keepTrimmed(lines, bytes, start, end, checkEachLine);
        }
        linesDone += 1;
        start = end + 1;
        end = bytes.indexOf(NEWLINE, start);
      }
      if (start < bytes.length) {
        refuseIfLong(pendingBytes + bytes.length - start);
        pending.push(bytes.subarray(start));
        pendingBytes += bytes.length - start;
      }
      if (lines.length > 0) yield lines;
    }
    if (pending.length > 0) {
      const last: string[] = [];
      const joined = Buffer.concat(pending);
      keepTrimmed(last, joined, 0, joined.length, refuseInvalidUtf8);
      if (last.length > 0) yield last;
    }
  } finally {
    // A consumer that stops early (an error, a bad line) must not leave the source open.
    if (!stream.destroyed) stream.destroy();
  }
}

/**
 * The stream's bytes in blocks of whole lines, each at least `minBytes`
 * (the last may be shorter) and ending just after a newline (the last maybe
 * without one): for work that splits and parses a block elsewhere, such as
 * in another thread. Each block is a copy with its own ArrayBuffer, so it
 * can be transferred. A line longer than `minBytes` makes its block longer.
 */
export async function* readLineBlocks(stream: Readable, minBytes: number): AsyncIterable<Buffer<ArrayBuffer>> {
  let parts: Buffer[] = [];
  let size = 0;
  const take = (length: number): Buffer<ArrayBuffer> => {
    const block = Buffer.allocUnsafeSlow(length);
    let filled = 0;
    for (const part of parts) {
      const used = Math.min(part.length, length - filled);
      part.copy(block, filled, 0, used);
      filled += used;
    }
    return block;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      parts.push(bytes);
      size += bytes.length;
      if (size < minBytes) continue;
      const lastNewline = bytes.lastIndexOf(NEWLINE);
      if (lastNewline === -1) continue;
      const blockLength = size - bytes.length + lastNewline + 1;
      if (blockLength < minBytes) continue;
      const block = take(blockLength);
      const rest = bytes.subarray(lastNewline + 1);
      parts = rest.length > 0 ? [rest] : [];
      size = rest.length;
      yield block;
    }
    if (size > 0) yield take(size);
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
}

/** Yields the non-empty lines of a stream one at a time (never the whole body). */
export async function* readLines(stream: Readable, options: LineReading = {}): AsyncIterable<string> {
  for await (const lines of readLineBatches(stream, options)) yield* lines;
}

/** Parses each line as JSON; the caller decides what a line must look like. */
export async function* readJsonLines(stream: Readable): AsyncIterable<unknown> {
  for await (const line of readLines(stream)) yield JSON.parse(line) as unknown;
}

const isBlankByte = (byte: number | undefined): boolean => byte === 0x20 || byte === 0x09 || byte === CARRIAGE_RETURN;

function isBlankLine(bytes: Uint8Array, start: number, stop: number): boolean {
  // Most lines start with '{': one comparison settles them.
  if (!isBlankByte(bytes[start])) return stop === start;
  for (let at = start; at < stop; at += 1) if (!isBlankByte(bytes[at])) return false;
  return true;
}

/**
 * Calls `line` with the bounds [start, stop) of each non-blank line of a
 * block of whole lines ("\n"- or "\r\n"-ended, the last maybe unended, as
 * readLineBlocks gives them), its line ending left out.
 */
export function forEachLineOf(bytes: Buffer, line: (start: number, stop: number) => void): void {
  for (let start = 0; start < bytes.length; ) {
    const newline = bytes.indexOf(NEWLINE, start);
    const end = newline === -1 ? bytes.length : newline;
    const lineStart = start;
    start = end + 1;
    const stop = end > lineStart && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    if (!isBlankLine(bytes, lineStart, stop)) line(lineStart, stop);
  }
}
