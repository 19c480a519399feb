import { ApiError } from '../lib/api-error.js';
import { MAX_BATCH_FILE_BYTES } from '../lib/batch-limits.js';
import type { Tuning } from '../tuning.js';

/**
 * The most bytes one request line of a run may hold, its newline left out.
 * A shard never splits a line and closes at shardMaxBytes (newline
 * included), under OpenAI's batch file limit: a longer line would make a
 * shard OpenAI refuses, so it is refused when the run is posted instead.
 */
export const maxRequestLineBytes = (tuning: Pick<Tuning, 'shardMaxBytes'>): number => Math.min(tuning.shardMaxBytes, MAX_BATCH_FILE_BYTES) - 1;

/** 413 for a request line over maxRequestLineBytes; `label` names it as the caller wrote it (`line 3`, `requests[2]`). */
export const requestLineTooLarge = (label: string, maxBytes: number): ApiError =>
  new ApiError('request_line_too_large', `${label} is larger than ${maxBytes} bytes, the most one request line may take (a batch input file holds at most ${MAX_BATCH_FILE_BYTES} bytes)`);
