/**
 * A worker process for the benchmarks: the service's own startService with
 * role 'worker', configured by the environment like `batchline worker`, plus
 * BENCH_QUEUES (comma-separated) to run only some stages, so one stage can be
 * measured in a process of its own. Prints "ready" once the workers run.
 * BENCH_MEMORY_TRACE_MS traces its memory (support/memory-trace.ts).
 */
import { loadConfig } from '../../src/config.js';
import { QUEUE_NAMES, type QueueName } from '../../src/queues/queue-names.js';
import { startService } from '../../src/server.js';
import { startMemoryTrace } from './memory-trace.js';

const isQueueName = (value: string): value is QueueName => (QUEUE_NAMES as readonly string[]).includes(value);
const queues = (process.env['BENCH_QUEUES'] ?? '').split(',').map((name) => name.trim()).filter(isQueueName);

const service = await startService({
  role: 'worker',
  config: loadConfig(),
  workerOptions: queues.length === 0 ? {} : { queues },
});
startMemoryTrace();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
