/**
 * A worker process for the benchmarks: the service's own startService with
 * role 'worker', configured by the environment like `batchline worker`
 * (BATCHLINE_QUEUES runs only some stages, so one stage can be measured in a
 * process of its own). Prints "ready" once the workers run.
 * BENCH_MEMORY_TRACE_MS traces its memory (support/memory-trace.ts).
 */
import { heapGrowthPercentAtStart, loadConfig } from '../../src/config.js';
import { processHeapGrowth } from '../../src/heap-growth.js';

// As `batchline worker` does (src/main.ts): the heap's growth is set before the service's modules load.
processHeapGrowth.setAtStart(heapGrowthPercentAtStart());
const { startService } = await import('../../src/server.js');
const { startMemoryTrace } = await import('./memory-trace.js');

const service = await startService({ role: 'worker', config: loadConfig() });
startMemoryTrace();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
