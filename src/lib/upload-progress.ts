import { AsyncLocalStorage } from 'node:async_hooks';

/** Called with the bytes of the request body sent so far. */
export type UploadProgressListener = (sentBytes: number) => void;

/**
 * Carries an upload's progress listener from the code that starts an upload
 * (uploadBatchFile) down to the fetch that writes the bytes (nodeHttpFetch),
 * through the OpenAI SDK, which has no progress hook of its own.
 */
export const uploadProgress = new AsyncLocalStorage<UploadProgressListener>();
