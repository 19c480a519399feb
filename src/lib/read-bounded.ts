import type { Readable } from 'node:stream';

export type TooLarge = { ok: false; reason: 'too_large'; readBytes: number };
export type BoundedRead = { ok: true; bytes: Buffer } | TooLarge;

/** What a reader made of the bytes it was lent, or too_large. */
export type LentRead<T> = { ok: true; value: T } | TooLarge;

/** Lends a bounded read's bytes to `use` (see ItemSource.read): use keeps what it makes of them, not the bytes. */
export const lendBytes = <T>(read: BoundedRead, use: (bytes: Buffer) => T): LentRead<T> => (read.ok ? { ok: true, value: use(read.bytes) } : read);

/**
 * Reads a stream into memory, but stops and destroys the stream as soon as
 * more than maxBytes have arrived: an oversized object (a 4 GB "image") must
 * cost a few chunks of memory, not the whole object. Stream errors reject.
 */
export const readBounded = async (stream: Readable, maxBytes: number): Promise<BoundedRead> => {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string | Uint8Array);
      total += buffer.length;
      if (total > maxBytes) return { ok: false, reason: 'too_large', readBytes: total };
      chunks.push(buffer);
    }
  } finally {
    // Leaving the loop early (too large, or an error) must release the file handle or socket.
    if (!stream.destroyed) stream.destroy();
  }
  // A file source hands over a small object as one chunk: no need to copy it again.
  return { ok: true, bytes: chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, total) };
};
