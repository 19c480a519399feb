import { ThreadPool } from '../lib/thread-pool.js';
import type { EncodedOutputBlock, OutputBlockTask } from './output-block.js';

/** The threads a worker process's results joins encode output blocks on. */
export type OutputJoinThreads = ThreadPool<OutputBlockTask, EncodedOutputBlock>;

// The thread's module beside this one, as sources (.ts under tsx) or compiled (.js in the image).
const threadModule = new URL(import.meta.url.endsWith('.ts') ? './output-block-thread.ts' : './output-block-thread.js', import.meta.url);

export const createOutputJoinThreads = (size: number): OutputJoinThreads => new ThreadPool(threadModule, size);
