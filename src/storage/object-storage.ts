import type { Readable } from 'node:stream';

/** One stored object as a listing returns it. */
export interface StoredObjectInfo {
  key: string;
  size: number;
}

/**
 * Where inputs, shards, manifests and results live. Keys are relative,
 * slash-separated and deterministic, so writing the same key twice with the
 * same bytes is a no-op in effect (re-running a stage is safe).
 */
export interface ObjectStorage {
  /** A URL a person can follow to the object (file:///… or s3://…). */
  urlOf(key: string): string;
  /**
   * Stores the body under key. The write is all-or-nothing: a reader never
   * sees a half-written object (local: temp file + rename; S3: multipart
   * upload that completes or aborts).
   */
  put(key: string, body: Readable | Buffer | string): Promise<void>;
  /**
   * Stores a local file's bytes under key and takes the file: once stored it
   * is gone from filePath. A local storage on the same file system moves it
   * into place (a shard of ~200 MB is not read and written again); otherwise
   * it is copied or uploaded like put, then deleted. All-or-nothing like put;
   * on failure the file is left where it was.
   */
  putFile(key: string, filePath: string): Promise<void>;
  /** Streams the object; throws StorageNotFoundError when absent. */
  get(key: string): Promise<Readable>;
  /** Size in bytes, or null when the object does not exist. */
  size(key: string): Promise<number | null>;
  delete(key: string): Promise<void>;
  /** Lists objects under a key prefix, page by page, in key order. */
  list(prefix: string): AsyncIterable<StoredObjectInfo>;
}

export class StorageNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object not found: ${key}`);
    this.name = 'StorageNotFoundError';
  }
}
