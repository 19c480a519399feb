import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { StorageNotFoundError, type ObjectStorage, type StoredObjectInfo } from './object-storage.js';

/** Bytes the file stream takes before it asks its source to wait: fewer, larger writes, each a trip through the thread pool. */
const WRITE_CHUNK_BYTES = 1024 * 1024;

/** Object storage on a local folder: the embedded default (`file://./data`). */
export class LocalStorage implements ObjectStorage {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  urlOf(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  async put(key: string, body: Readable | Buffer | string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    // Write beside the target and rename: readers never see a partial file,
    // and a crash mid-write leaves only a temp file behind.
    const temp = `${target}.${randomUUID()}.partial`;
    const file = createWriteStream(temp, { highWaterMark: WRITE_CHUNK_BYTES });
    try {
      const source = typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, file);
      await rename(temp, target);
    } catch (error) {
      // A source that fails at once can beat the file's open: wait for the stream to close,
      // or the file would appear after the removal below.
      if (!file.closed) await new Promise<void>((resolve) => file.once('close', () => resolve()));
      await rm(temp, { force: true });
      throw error;
    }
  }

  async putFile(key: string, filePath: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    try {
      // Atomic like put's temp file and rename: readers see the previous object or this one whole.
      await rename(filePath, target);
      return;
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'EXDEV')) throw error;
    }
    await this.put(key, createReadStream(filePath));
    await rm(filePath, { force: true });
  }

  async get(key: string): Promise<Readable> {
    const file = this.pathOf(key);
    try {
      if (!(await stat(file)).isFile()) throw new StorageNotFoundError(key);
    } catch (error) {
      // Only absence is "not found"; a permission error must surface as itself.
      if (isMissing(error)) throw new StorageNotFoundError(key);
      throw error;
    }
    return createReadStream(file);
  }

  async size(key: string): Promise<number | null> {
    // Resolved outside the try: a key escaping the root is refused, not reported as absent.
    const file = this.pathOf(key);
    try {
      const info = await stat(file);
      return info.isFile() ? info.size : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    const start = this.pathOf(prefix.endsWith('/') || prefix === '' ? prefix : path.posix.dirname(prefix));
    const found: StoredObjectInfo[] = [];
    await this.walk(start, found);
    found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const info of found) if (info.key.startsWith(prefix)) yield info;
  }

  /** Absolute path of a key; refuses keys that would escape the root. */
  pathOf(key: string): string {
    const resolved = path.resolve(this.root, key);
    if (resolved !== this.root && !resolved.startsWith(this.root + path.sep)) {
      throw new Error(`storage key escapes the storage root: ${key}`);
    }
    return resolved;
  }

  private async walk(dir: string, found: StoredObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await this.walk(full, found);
      else if (entry.isFile() && !entry.name.endsWith('.partial')) {
        found.push({ key: path.relative(this.root, full).split(path.sep).join('/'), size: (await stat(full)).size });
      }
    }
  }
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}
