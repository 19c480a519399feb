import type { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStorage } from './local-storage.js';
import type { ObjectStorage } from './object-storage.js';
import { S3Storage } from './s3-storage.js';

export type StorageLocation = { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

/** S3's bucket naming rules (3–63 characters, lowercase letters, digits, dots and hyphens, alphanumeric at both ends). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads a storage URL: `file://DIR` (absolute, or relative to the working
 * directory as in `file://./data`) or `s3://BUCKET/PREFIX`. Throws an Error
 * whose message names the setting (`name`) and what is wrong with it.
 */
export function parseStorageUrl(url: string, name = 'STORAGE_URL'): StorageLocation {
  const bad = (why: string): Error =>
    new Error(`${name} ${JSON.stringify(url)} is not valid: ${why} (expected file://DIR or s3://BUCKET/PREFIX)`);

  if (url.startsWith('file://')) {
    const rest = url.slice('file://'.length);
    if (rest === '') throw bad('the folder is missing');
    // file:///abs is a real file URL (what LocalStorage.urlOf prints): decode it
    // as one. Anything else is a plain relative path, taken literally.
    if (rest.startsWith('/')) {
      try {
        return { kind: 'file', dir: fileURLToPath(url) };
      } catch (error) {
        throw bad(error instanceof Error ? error.message : String(error));
      }
    }
    return { kind: 'file', dir: path.resolve(rest) };
  }

  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1);
    if (bucket === '') throw bad('the bucket name is missing');
    if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
      throw bad(`"${bucket}" is not an S3 bucket name (3-63 characters: lowercase letters, digits, dots and hyphens)`);
    }
    if (prefix.startsWith('/') || prefix.includes('//')) throw bad('the prefix has an empty path segment ("//")');
    return { kind: 's3', bucket, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
  }

  throw bad('unsupported scheme');
}

/** The storage a URL names. The S3 client is only built when the URL is an s3:// one. */
export function createStorage(storageUrl: string, s3: () => S3Client): ObjectStorage {
  const location = parseStorageUrl(storageUrl);
  return location.kind === 'file' ? new LocalStorage(location.dir) : new S3Storage(s3(), location.bucket, location.prefix);
}
