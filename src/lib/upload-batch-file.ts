import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UnrecoverableError } from 'bullmq';
import type OpenAI from 'openai';
import type { FileObject } from 'openai/resources/files';
import { MAX_BATCH_FILE_BYTES } from './batch-limits.js';
import { uploadedFile } from './uploaded-file.js';
import { uploadProgress, type UploadProgressListener } from './upload-progress.js';

export interface UploadBatchFileOptions {
  /** Seconds after upload that OpenAI deletes the file (3600..2592000); OpenAI's default for batch files is 30 days. */
  expiresAfterSeconds?: number;
  signal?: AbortSignal;
  /** Retries after the first attempt (on 408/409/429/5xx and connection errors); the client's setting when absent. */
  maxRetries?: number;
  timeoutMs?: number;
  /** Bytes of the request sent so far (the file plus a little multipart framing), for job progress; restarts at 0 on a retry. */
  onProgress?: UploadProgressListener;
}

/**
 * Uploads a JSONL file from disk with purpose "batch", streaming it.
 *
 * The file goes to the SDK as a File over a Blob backed by the file on disk
 * (fs.openAsBlob): nothing is read until the request body is sent, and every
 * attempt the SDK makes re-reads the file from the start, so a retried upload
 * is a fresh stream (the SDK cannot retry an upload given as a one-shot
 * stream, and `toFile()` would buffer the whole file). Memory stays flat only
 * when the client's fetch streams request bodies: use `nodeHttpFetch`, which
 * also reads the file from its path (uploadedFile) in 256 KB chunks instead of
 * the Blob's 64 KB, with the same refusal of a file that changes.
 */
export async function uploadBatchFile(client: OpenAI, filePath: string, filename: string, options: UploadBatchFileOptions = {}): Promise<FileObject> {
  if (!filename.toLowerCase().endsWith('.jsonl')) throw new Error(`batch input files must be named *.jsonl (got ${filename})`);
  const { size, mtimeNs } = await stat(filePath, { bigint: true });
  if (size > BigInt(MAX_BATCH_FILE_BYTES)) {
    // No retry can shrink the file: refused for good (isPermanentError), and named by its upload name, never its path on this server.
    throw new UnrecoverableError(`${filename} is ${size} bytes; OpenAI accepts batch files up to ${MAX_BATCH_FILE_BYTES} bytes`);
  }
  // The blob remembers the file's size and mtime: if the file changes before or during an attempt, reading fails instead of sending a mix.
  const file = new File([await openAsBlob(filePath)], filename, { type: 'application/jsonl' });
  const create = () => client.files.create(
    {
      file,
      purpose: 'batch',
      ...(options.expiresAfterSeconds === undefined ? {} : { expires_after: { anchor: 'created_at', seconds: options.expiresAfterSeconds } }),
    },
    {
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries }),
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    },
  );
  const onDisk = { path: filePath, name: filename, size: Number(size), mtimeNs };
  const { onProgress } = options;
  return uploadedFile.run(onDisk, () => (onProgress === undefined ? create() : uploadProgress.run(onProgress, create)));
}
