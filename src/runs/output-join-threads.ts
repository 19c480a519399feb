import type { Logger } from '../lib/logger.js';
import { ThreadPool } from '../lib/thread-pool.js';
import type { EncodedOutputBlock, OutputBlockTask } from './output-block.js';

/** The threads a worker process's results joins encode output blocks on. */
export type OutputJoinThreads = ThreadPool<OutputBlockTask, EncodedOutputBlock>;

// The thread's module beside this one, as sources (.ts under tsx) or compiled (.js in the image).
const threadModule = new URL(import.meta.url.endsWith('.ts') ? './output-block-thread.ts' : './output-block-thread.js', import.meta.url);

export const createOutputJoinThreads = (size: number, logger: Logger): OutputJoinThreads =>
  new ThreadPool(threadModule, size, (error) => logger.warn({ err: error.message }, 'a join thread stopped; the joins it was serving fail and are retried, and a new thread takes the next block'));
