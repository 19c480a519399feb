/** OpenAI Batch API limits the service builds around (PRODUCT.md, "The OpenAI contract"). */
export const MAX_REQUESTS_PER_BATCH = 50_000;
export const MAX_BATCH_FILE_BYTES = 200 * 1024 * 1024;
/** Shards close just under the file limit so a line never tips a file over it. */
export const SHARD_CLOSE_BYTES = MAX_BATCH_FILE_BYTES - 1024 * 1024;
export const MAX_EMBEDDING_INPUTS_PER_BATCH = 50_000;
export const METADATA_MAX_PAIRS = 16;
export const METADATA_MAX_KEY_LENGTH = 64;
export const METADATA_MAX_VALUE_LENGTH = 512;

export const BATCH_ENDPOINTS = ['/v1/chat/completions', '/v1/responses', '/v1/embeddings', '/v1/completions', '/v1/moderations'] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export const TERMINAL_BATCH_STATUSES = ['completed', 'failed', 'expired', 'cancelled'] as const;
export type TerminalBatchStatus = (typeof TERMINAL_BATCH_STATUSES)[number];
export const isTerminalBatchStatus = (status: string): status is TerminalBatchStatus =>
  (TERMINAL_BATCH_STATUSES as readonly string[]).includes(status);
