import { appendFileSync } from 'node:fs';

/**
 * BENCH_MEMORY_TRACE_MS (e.g. "100"): the bench entry records
 * process.memoryUsage() at that interval — which part of its RSS grows
 * (heap, or buffers outside it) when a bench finds the process bigger than
 * expected. One JSON line per sample, to BENCH_MEMORY_TRACE_FILE.<pid> when
 * that is set (a child's output is otherwise cut to its last lines), else to
 * stderr as "mem {json}".
 */
export function startMemoryTrace(): void {
  const intervalMs = Number(process.env['BENCH_MEMORY_TRACE_MS'] ?? '0');
  if (!(intervalMs > 0)) return;
  const file = process.env['BENCH_MEMORY_TRACE_FILE'];
  const started = performance.now();
  setInterval(() => {
    const sample = JSON.stringify({ ms: Math.round(performance.now() - started), ...process.memoryUsage() });
    if (file === undefined) process.stderr.write(`mem ${sample}\n`);
    else appendFileSync(`${file}.${process.pid}`, `${sample}\n`);
  }, intervalMs).unref();
}
