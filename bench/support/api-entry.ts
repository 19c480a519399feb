/**
 * The API in a process of its own for the benchmarks (startService with role
 * 'api', configured by the environment). Prints "url <url>" then "ready".
 * BENCH_MEMORY_TRACE_MS traces its memory (support/memory-trace.ts).
 */
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/server.js';
import { startMemoryTrace } from './memory-trace.js';

const service = await startService({ role: 'api', config: loadConfig() });
startMemoryTrace();
process.stdout.write(`url ${service.url ?? ''}\nready\n`);
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
