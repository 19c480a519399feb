import { AsyncLocalStorage } from 'node:async_hooks';
import { open } from 'node:fs/promises';

/** A file on disk that an upload sends, as it was before the first attempt. */
export interface UploadedFile {
  path: string;
  /** The form part's file name: how the fetch tells this file's part from any other. */
  name: string;
  size: number;
  mtimeNs: bigint;
}

/**
 * Names the file on disk behind the file part of the upload under way, from
 * uploadBatchFile down to nodeHttpFetch. The SDK copies the File it is given
 * into a FormData of its own (a new File over the same bytes), so the fetch
 * cannot tell a file-backed part by the object; read as a Blob, it comes in
 * 64 KB chunks, and a 200 MB shard took 3,200 reads and as many socket
 * writes. Read from the path, it takes 800 of each.
 */
export const uploadedFile = new AsyncLocalStorage<UploadedFile>();

/** 1 MB chunks uploaded no faster in the build + upload bench and raised the worker's peak RSS by ~20 MB (four uploads at once). */
const CHUNK_BYTES = 256 * 1024;

/**
 * Chunks come back once the socket has them (giveBackUploadChunk) and serve
 * the next reads, whichever upload makes them. A new buffer per chunk was
 * 256 KB outside V8's heap that, once it outlived two scavenges, only a full
 * collection frees, and a busy worker seldom runs one: with these and a
 * buffer per image read, the worker's peak RSS in the build + upload bench
 * was 198 MB at 50,000 images against 161 MB at 1,000 (with both reused:
 * 143 and 137 MB). Bounded: enough for a few uploads at the socket's pace,
 * never more kept idle than this.
 */
const SPARE_CHUNKS = 16;
const spareChunks: ArrayBuffer[] = [];
/** The memory of chunks out on loan, so that only those are taken back. */
const lentChunks = new WeakSet<ArrayBufferLike>();

const takeChunk = (): Buffer => {
  const memory = spareChunks.pop() ?? new ArrayBuffer(CHUNK_BYTES);
  lentChunks.add(memory);
  return Buffer.from(memory);
};

/**
 * Takes back a chunk readUploadedFile lent, once its bytes are written (a
 * socket write's callback); any other bytes are left alone. A chunk never
 * given back is simply collected.
 */
export function giveBackUploadChunk(chunk: Uint8Array): void {
  const memory = chunk.buffer;
  if (!lentChunks.has(memory)) return;
  lentChunks.delete(memory);
  if (spareChunks.length < SPARE_CHUNKS && memory instanceof ArrayBuffer) spareChunks.push(memory);
}

const changed = (file: UploadedFile): Error => new Error(`${file.path} changed during the upload`);

/**
 * The file's bytes in 256 KB chunks, from the start (one call per attempt);
 * each chunk is lent (giveBackUploadChunk).
 * Fails, instead of sending a mix, when the file's size or modification time
 * is not what it was before the first attempt: checked on opening and again
 * once every byte is read, before the last chunk goes out, so a request whose
 * file changed under it never completes.
 */
export async function* readUploadedFile(file: UploadedFile): AsyncGenerator<Buffer> {
  const handle = await open(file.path, 'r');
  try {
    const unchanged = async (): Promise<boolean> => {
      const stats = await handle.stat({ bigint: true });
      return stats.size === BigInt(file.size) && stats.mtimeNs === file.mtimeNs;
    };
    if (!(await unchanged())) throw changed(file);
    let held: Buffer | null = null;
    for (let position = 0; position < file.size; ) {
      const chunk = takeChunk();
      const { bytesRead } = await handle.read(chunk, 0, Math.min(CHUNK_BYTES, file.size - position), position);
      if (bytesRead === 0) throw changed(file);
      position += bytesRead;
      if (held !== null) yield held;
      held = chunk.subarray(0, bytesRead);
    }
    if (!(await unchanged())) throw changed(file);
    if (held !== null) yield held;
  } finally {
    await handle.close();
  }
}
