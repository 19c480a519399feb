import { encodeLine, type EncodedLine } from '../lib/line-file-writer.js';
import { estimateTokens } from '../lib/token-estimate.js';

/**
 * One request line as a shard takes it: its size in bytes, newline included
 * (the shard's byte limit is counted from it), a way to encode it once into
 * the shard file's buffer, and the tokens it enqueues (the shard's token
 * estimate).
 */
export interface ShardLine extends EncodedLine {
  readonly estimatedTokens: number;
}

/** A request line given as text (a run of raw request lines, or one without inline images). */
export function shardLineOf(line: string): ShardLine {
  return { ...encodeLine(line), estimatedTokens: estimateTokens(line) };
}
