import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newFileId } from './emulator-ids.js';

export const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;
export type UploadPurpose = (typeof FILE_PURPOSES)[number];
export type FilePurpose = UploadPurpose | 'batch_output';

/** Files with purpose batch (and batch outputs) expire after 30 days unless told otherwise. */
export const DEFAULT_BATCH_FILE_TTL_SECONDS = 30 * 24 * 3600;

export interface StoredFile {
  id: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  createdAt: number;
  /** Unix seconds, or null when the file never expires. */
  expiresAt: number | null;
  /** Where the content is on disk. */
  path: string;
  deleted: boolean;
}

/** OpenAI's File object. */
export interface OpenAIFileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
}

export const toFileObject = (file: StoredFile): OpenAIFileObject => ({
  id: file.id,
  object: 'file',
  bytes: file.bytes,
  created_at: file.createdAt,
  expires_at: file.expiresAt,
  filename: file.filename,
  purpose: file.purpose,
  status: 'processed',
  status_details: null,
});

export interface ListFilesQuery {
  purpose?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
  after?: string | undefined;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * File metadata in memory, contents on disk. Contents are only ever streamed
 * in and out. A file that a batch still has to read is pinned: deleting it
 * hides it from the API at once, and its bytes go when the last pin does.
 */
export class FileStore {
  private readonly files = new Map<string, StoredFile>();
  private readonly pins = new Map<string, number>();
  private readonly contentDir: string;

  constructor(dataDir: string) {
    this.contentDir = join(dataDir, 'files');
  }

  async init(): Promise<void> {
    await mkdir(this.contentDir, { recursive: true });
  }

  /** A fresh id and the path its content goes to. */
  allocate(): { id: string; path: string } {
    const id = newFileId();
    return { id, path: join(this.contentDir, id) };
  }

  /** Streams `source` into `path`, counting bytes; the caller decides what to do with the count. */
  async writeStream(source: Readable, path: string): Promise<number> {
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(source, counter, createWriteStream(path));
    return bytes;
  }

  add(file: Omit<StoredFile, 'deleted'>): StoredFile {
    const stored: StoredFile = { ...file, deleted: false };
    this.files.set(stored.id, stored);
    return stored;
  }

  /** A file the API may show: not deleted and not expired. */
  get(id: string): StoredFile | undefined {
    const file = this.files.get(id);
    if (file === undefined || file.deleted) return undefined;
    if (file.expiresAt !== null && file.expiresAt <= nowSeconds()) return undefined;
    return file;
  }

  list(query: ListFilesQuery): { data: StoredFile[]; hasMore: boolean } {
    let files = [...this.files.keys()]
      .map((id) => this.get(id))
      .filter((file): file is StoredFile => file !== undefined && (query.purpose === undefined || file.purpose === query.purpose));
    // Insertion order is creation order; created_at alone has one-second ties.
    if (query.order === 'desc') files = files.reverse();
    if (query.after !== undefined) {
      const index = files.findIndex((file) => file.id === query.after);
      files = index === -1 ? [] : files.slice(index + 1);
    }
    return { data: files.slice(0, query.limit), hasMore: files.length > query.limit };
  }

  /** Every file ever stored, deleted ones included (for the ledger). */
  all(): StoredFile[] {
    return [...this.files.values()].map((file) => ({ ...file }));
  }

  async delete(id: string): Promise<boolean> {
    const file = this.get(id);
    if (file === undefined) return false;
    file.deleted = true;
    if ((this.pins.get(id) ?? 0) === 0) await rm(file.path, { force: true });
    return true;
  }

  pin(id: string): void {
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
  }

  async unpin(id: string): Promise<void> {
    const left = (this.pins.get(id) ?? 1) - 1;
    if (left > 0) {
      this.pins.set(id, left);
      return;
    }
    this.pins.delete(id);
    const file = this.files.get(id);
    if (file?.deleted === true) await rm(file.path, { force: true });
  }

  /** The path of a file's content, also for a pinned file that was deleted meanwhile. */
  contentPath(id: string): string | undefined {
    return this.files.get(id)?.path;
  }

  openRead(file: StoredFile): Readable {
    return createReadStream(file.path, { highWaterMark: 256 * 1024 });
  }

  async sizeOnDisk(path: string): Promise<number> {
    return (await stat(path)).size;
  }
}
