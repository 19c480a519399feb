/**
 * A worker process for the benchmarks: the service's own startService with
 * role 'worker', configured by the environment like `batchline worker`
 * (BATCHLINE_QUEUES runs only some stages, so one stage can be measured in a
 * process of its own). Prints "ready" once the workers run.
 * BENCH_MEMORY_TRACE_MS traces its memory (support/memory-trace.ts).
 */
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/server.js';
import { startMemoryTrace } from './memory-trace.js';

const service = await startService({ role: 'worker', config: loadConfig() });
startMemoryTrace();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
