/**
 * The API in a process of its own for the benchmarks (startService with role
 * 'api', configured by the environment). Prints "url <url>" then "ready".
 * BENCH_MEMORY_TRACE_MS (e.g. "100") prints process.memoryUsage() at that
 * interval on stderr as "mem {json}": which part of the RSS grows (heap, or
 * buffers outside it) when a bench finds the process bigger than expected.
 */
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/server.js';

const service = await startService({ role: 'api', config: loadConfig() });
const traceMs = Number(process.env['BENCH_MEMORY_TRACE_MS'] ?? '0');
if (traceMs > 0) {
  setInterval(() => process.stderr.write(`mem ${JSON.stringify(process.memoryUsage())}\n`), traceMs).unref();
}
process.stdout.write(`url ${service.url ?? ''}\nready\n`);
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
