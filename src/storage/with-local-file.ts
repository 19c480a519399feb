import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { LocalStorage } from './local-storage.js';
import type { ObjectStorage } from './object-storage.js';

/**
 * Runs fn with a local path holding the object's bytes: the file itself on
 * local storage, a streamed temporary copy otherwise (uploads to OpenAI need
 * a file they can re-open for each attempt).
 */
export async function withLocalFile<Result>(
  storage: ObjectStorage,
  key: string,
  workDir: string,
  fn: (filePath: string) => Promise<Result>,
): Promise<Result> {
  if (storage instanceof LocalStorage) return fn(storage.pathOf(key));
  const copy = path.join(workDir, `${randomUUID()}-${path.basename(key)}`);
  try {
    await pipeline(await storage.get(key), createWriteStream(copy));
    return await fn(copy);
  } finally {
    await rm(copy, { force: true });
  }
}
