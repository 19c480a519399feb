import { closeSync, constants, openSync, readSync, type Dirent, type Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { lendBytes, type BoundedRead, type LentRead } from '../../lib/read-bounded.js';
import { StorageNotFoundError } from '../../storage/object-storage.js';
import type { ItemSource, SourceObject } from './item-source.js';
import { SourceUnavailableError } from './source-unavailable-error.js';

const PAGE_SIZE = 1000;

interface Entry {
  name: string;
  /** The real path: the entry itself, or a symlink's resolved target. */
  real: string;
  isDirectory: boolean;
}

/**
 * Items are the files under a local folder, recursively. Dotfiles and dot
 * folders are skipped (editor swap files, .DS_Store, partial uploads), and so
 * are symlinks that lead outside the folder, and files modified within the
 * settle time: they are still being written, and are listed once they have
 * gone unmodified that long.
 */
export class LocalItemSource implements ItemSource {
  readonly root: string;
  /**
   * The root's real path for `read`, resolved on first use and kept (a
   * failure is not): a build opens thousands of items from one source, and
   * resolving the root again for each cost as much as resolving the item.
   */
  private realRootResolved: Promise<string> | null = null;

  /** The path as the definition gave it: a relative one is resolved where the worker runs, which its error must say. */
  private readonly given: string;

  /**
   * @param settleMs how long a file must have gone unmodified to be listed. cp,
   * scp and rsync --inplace write a file where it will stay, so a listing
   * during the copy sees a partial file whose version changes with every
   * write; waiting for its mtime to settle sends it once, whole. 0 lists every file.
   */
  constructor(
    root: string,
    private readonly settleMs = 0,
  ) {
    this.given = root;
    this.root = path.resolve(root);
  }

  describe(): string {
    return `local folder ${this.root}`;
  }

  /**
   * Whether a file modified at this time may still be being written: within
   * the settle time of now, by the clock when it is stat'ed (a listing that
   * pauses while its pages are recorded can outlast the settle time, and a
   * file written meanwhile must still wait). The window reaches as far into
   * the future, for a writer whose clock runs a little ahead (a network
   * mount); a file dated further ahead was not written just now (a copy that
   * kept odd timestamps) and is listed rather than held back until that date.
   */
  private isSettling(mtimeMs: number): boolean {
    return this.settleMs > 0 && Math.abs(mtimeMs - Date.now()) < this.settleMs;
  }

  async *listPages(): AsyncIterable<SourceObject[]> {
    const root = await this.resolveRoot();
    let page: SourceObject[] = [];
    for await (const object of this.walk(root, '', new Set([root]), root)) {
      page.push(object);
      if (page.length >= PAGE_SIZE) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  /**
   * The item's bytes through a bare file descriptor, synchronously: open,
   * one read per megabyte, close. A build reads thousands of ~50 KB images
   * from the page cache, where each of these calls takes microseconds, and
   * sending each to the thread pool and taking its result back cost the
   * event loop far more than the call: on 2 cores shared with the upload's
   * receiver, open, read and close each cost 30–45 µs of the worker's main
   * thread as trips (1.1 s per 10,000 images in a CPU profile), where the
   * three calls made in place take about 17 µs together, base64 included
   * (a 10,000-file loop: 170 ms against 470 ms, and a third of the CPU).
   * A read is bounded by the caller's limit (an image's is megabytes), so
   * the event loop is never held for long. No fstat: a read shorter than
   * asked for is the end of the file, and a folder at the key fails its
   * read with EISDIR. An item that fits one read is lent to `use` where it
   * was read, in the one scratch buffer: being synchronous, the read and
   * `use` end before any other read starts.
   */
  async read<T>(key: string, maxBytes: number, use: (bytes: Buffer) => T): Promise<LentRead<T>> {
    const segments = this.segmentsOf(key);
    const root = await this.realRoot();
    const fd = (segments.length === 1 ? openUnlessLink(path.join(root, key), key) : null) ?? openResolved(await this.resolvedPath(root, segments, key), key);
    try {
      return lendBytes(readFdBounded(fd, maxBytes), use);
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'EISDIR') throw new StorageNotFoundError(key);
      throw error;
    } finally {
      closeSync(fd);
    }
  }

  /** A key's path segments; a key that could name something outside the folder, or a dotfile, is refused. */
  private segmentsOf(key: string): string[] {
    const segments = key.split('/');
    if (segments.some((segment) => segment === '' || segment.startsWith('.'))) {
      throw new Error(`not an item key of ${this.describe()}: ${JSON.stringify(key)}`);
    }
    return segments;
  }

  /** An item's real path, refusing one that leads outside the root. */
  private async resolvedPath(root: string, segments: readonly string[], key: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(path.join(root, ...segments));
    } catch (error) {
      if (isMissing(error)) throw new StorageNotFoundError(key);
      throw error;
    }
    if (!isInside(root, real)) throw new Error(`item ${JSON.stringify(key)} leads outside ${this.describe()}`);
    return real;
  }

  private realRoot(): Promise<string> {
    this.realRootResolved ??= this.resolveRoot().catch((error: unknown) => {
      this.realRootResolved = null;
      throw error;
    });
    return this.realRootResolved;
  }

  /**
   * The root's real path, or an error that names the folder as the worker
   * sees it: the API cannot check the path (the worker may run on another
   * machine), so this message is what the user reads in the pipeline.
   */
  private async resolveRoot(): Promise<string> {
    let real: string;
    try {
      real = await realpath(this.root);
      if (!(await stat(real)).isDirectory()) throw new SourceUnavailableError('source_not_found', `${this.describe()} is not a folder`);
    } catch (error) {
      if (isMissing(error)) throw new SourceUnavailableError('source_not_found', `${this.describe()} does not exist${this.relativeHint()}`);
      if (isDenied(error)) throw new SourceUnavailableError('source_access_denied', `${this.describe()} cannot be read by the worker: permission denied`);
      throw error;
    }
    return real;
  }

  private relativeHint(): string {
    return path.isAbsolute(this.given) ? '' : ` (the relative path ${JSON.stringify(this.given)} is resolved from the worker's working directory, ${process.cwd()})`;
  }

  /**
   * Depth-first in key order. Directory names sort as if they ended in "/",
   * so the order is that of the full keys, the order S3 lists in. Only one
   * directory's names are held at a time; files are stat'ed as they are yielded.
   */
  private async *walk(dir: string, keyPrefix: string, ancestors: Set<string>, root: string): AsyncGenerator<SourceObject> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return; // removed while listing
      throw error;
    }
    const entries: Entry[] = [];
    for (const dirent of dirents) {
      if (dirent.name.startsWith('.')) continue;
      const full = path.join(dir, dirent.name);
      if (dirent.isSymbolicLink()) {
        let real: string;
        let target: Stats;
        try {
          real = await realpath(full);
          target = await stat(real);
        } catch (error) {
          if (isMissing(error)) continue; // a dangling link
          throw error;
        }
        if (!isInside(root, real)) continue;
        if (target.isDirectory() || target.isFile()) entries.push({ name: dirent.name, real, isDirectory: target.isDirectory() });
      } else if (dirent.isDirectory() || dirent.isFile()) {
        entries.push({ name: dirent.name, real: full, isDirectory: dirent.isDirectory() });
      }
    }
    const sortName = (entry: Entry): string => (entry.isDirectory ? `${entry.name}/` : entry.name);
    entries.sort((a, b) => compare(sortName(a), sortName(b)));

    for (const entry of entries) {
      const key = keyPrefix + entry.name;
      if (entry.isDirectory) {
        // A link back to a folder on the current path would recurse forever.
        if (ancestors.has(entry.real)) continue;
        ancestors.add(entry.real);
        yield* this.walk(entry.real, `${key}/`, ancestors, root);
        ancestors.delete(entry.real);
        continue;
      }
      let stats: Stats;
      try {
        stats = await stat(entry.real);
      } catch (error) {
        if (isMissing(error)) continue; // removed while listing
        throw error;
      }
      if (!stats.isFile()) continue;
      if (this.isSettling(stats.mtimeMs)) continue;
      // Size and modification time change whenever a file is rewritten (an
      // overwrite within the same clock tick and at the same size is the blind spot).
      yield { key, version: `${stats.size}-${stats.mtimeMs}`, size: stats.size, lastModified: stats.mtime.toISOString() };
    }
  }
}

/** The largest single read: an item over it is read in several, and one over the caller's limit is never read whole. */
const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * Opens a file directly in the (real) root without resolving its path: with
 * O_NOFOLLOW a file that is not a symlink is the file itself, inside the
 * root. null for a symlink (or where the flag does not exist): the caller
 * resolves the link and checks where it leads.
 */
function openUnlessLink(file: string, key: string): number | null {
  const noFollow = constants.O_NOFOLLOW as number | undefined;
  if (noFollow === undefined) return null;
  try {
    return openSync(file, constants.O_RDONLY | noFollow);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ELOOP') return null;
    if (isMissing(error)) throw new StorageNotFoundError(key);
    throw error;
  }
}

/** Opens a path already resolved and checked; it can still vanish before the open. */
function openResolved(file: string, key: string): number {
  try {
    return openSync(file, constants.O_RDONLY);
  } catch (error) {
    if (isMissing(error)) throw new StorageNotFoundError(key);
    throw error;
  }
}

/**
 * Reads go into this buffer: the file's size is not known without an fstat,
 * and a buffer of the largest allowed size for each read would be megabytes
 * per image. One is enough: reads are synchronous, so never two at once.
 * Made on the first read, so a process that reads no local item (the API) has none.
 */
let scratchBuffer: Buffer | null = null;

/**
 * A file's bytes from the start until a short read (the end), or too_large
 * once more than maxBytes were read. A file that ends within the first read
 * comes back as a view of the scratch buffer, valid until the next read;
 * a larger one is copied out chunk by chunk and joined.
 */
function readFdBounded(fd: number, maxBytes: number): BoundedRead {
  const scratch = (scratchBuffer ??= Buffer.allocUnsafe(MAX_CHUNK_BYTES));
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // One byte past the limit at most: enough to tell that the file is over it.
    const wanted = Math.min(scratch.length, maxBytes + 1 - total);
    const bytesRead = readSync(fd, scratch, 0, wanted, total);
    total += bytesRead;
    if (total > maxBytes) return { ok: false, reason: 'too_large', readBytes: total };
    const read = scratch.subarray(0, bytesRead);
    if (bytesRead < wanted && chunks.length === 0) return { ok: true, bytes: read };
    if (bytesRead > 0) chunks.push(Buffer.from(read));
    if (bytesRead < wanted) break;
  }
  return { ok: true, bytes: Buffer.concat(chunks, total) };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isInside(root: string, target: string): boolean {
  return target === root || target.startsWith(root + path.sep);
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

function isDenied(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'EACCES' || error.code === 'EPERM');
}
