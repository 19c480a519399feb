import { z } from 'zod';
import { METADATA_MAX_KEY_LENGTH, METADATA_MAX_PAIRS, METADATA_MAX_VALUE_LENGTH } from './batch-limits.js';

/** A metadata key within OpenAI's bounds. */
export const metadataKeySchema = z.string().min(1).max(METADATA_MAX_KEY_LENGTH);

/**
 * Metadata as OpenAI takes it (a batch's, or a request body's): string pairs
 * within its key and value lengths, at most `maxPairs` of them (OpenAI's
 * limit, or less where batchline writes some pairs itself). `key` narrows the
 * keys further, e.g. to keep batchline's own prefix out.
 */
export function metadataSchema(maxPairs = METADATA_MAX_PAIRS, tooMany = `at most ${maxPairs} pairs`, key: z.ZodString = metadataKeySchema) {
  return z.record(key, z.string().max(METADATA_MAX_VALUE_LENGTH)).refine((pairs) => Object.keys(pairs).length <= maxPairs, tooMany);
}
