import { encodeLine } from '../lib/line-file-writer.js';
import { estimateTokens } from '../lib/token-estimate.js';

/**
 * One request line as a shard takes it: its bytes, encoded once and newline
 * included (the shard's byte limit is counted from them), and the tokens it
 * enqueues (the shard's token estimate).
 */
export interface ShardLine {
  bytes: Buffer;
  estimatedTokens: number;
}

/** A request line given as text (a run of raw request lines, or one without inline images). */
export function shardLineOf(line: string): ShardLine {
  return { bytes: encodeLine(line), estimatedTokens: estimateTokens(line) };
}
