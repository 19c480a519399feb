/**
 * The API in a process of its own for the benchmarks (startService with role
 * 'api', configured by the environment). Prints "url <url>" then "ready".
 * BENCH_MEMORY_TRACE_MS traces its memory (support/memory-trace.ts).
 */
import { heapGrowthPercentAtStart, loadConfig } from '../../src/config.js';
import { processHeapGrowth } from '../../src/heap-growth.js';

// As `batchline api` does (src/main.ts): the heap's growth is set before the service's modules load.
processHeapGrowth.setAtStart(heapGrowthPercentAtStart());
const { startService } = await import('../../src/server.js');
const { startMemoryTrace } = await import('./memory-trace.js');

const service = await startService({ role: 'api', config: loadConfig() });
startMemoryTrace();
process.stdout.write(`url ${service.url ?? ''}\nready\n`);
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
