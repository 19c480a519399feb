/**
 * Ingest: POST /v1/runs latency under load, and a 200 MB NDJSON body
 * streamed in, against an API process of its own (role 'api', no workers,
 * rate limit off).
 * - Load: 1,000-item template bodies sent open-loop at 50 requests/s; floor:
 *   GET /healthz at the same rate on the same process, same run.
 * - Stream: a 200 MB NDJSON body of request lines, sent chunked, into a
 *   fresh API process; its peak RSS (VmHWM) against its RSS when ready.
 *
 * Run: node --openssl-legacy-provider --import tsx bench/ingest.bench.ts [--no-write]
 */
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fixed, machineLine, markdownTable, quick, shouldWrite, verdict, writeSection } from './support/bench-report.js';
import { startBenchRedis } from './support/bench-redis.js';
import { spawnBenchChild } from './support/child-process.js';
import { peakRssMb, rssMb } from './support/proc-stats.js';

const RATE = 50;
const SECONDS = quick ? 5 : 30;
const ITEMS = 1_000;
const STREAM_BYTES = (quick ? 20 : 200) * 1024 * 1024;
const HEADING = '## Ingest (POST /v1/runs)';

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Sends `count` requests at `rate` per second without waiting for answers (open loop): latency includes queueing. */
async function openLoop(count: number, rate: number, send: () => Promise<number>): Promise<{ latencies: number[]; failures: number }> {
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(
      (async () => {
        const sent = performance.now();
        const status = await send().catch(() => 0);
        if (status >= 200 && status < 300) latencies.push(performance.now() - sent);
        else failures += 1;
      })(),
    );
  }
  await Promise.all(pending);
  return { latencies, failures };
}

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-ingest-'));
  const env = {
    REDIS_URL: redis.url, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-emulator', STORAGE_URL: `file://${workDir}/data`, BATCHLINE_PREFIX: 'bench',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: '0', API_RATE_LIMIT_PER_MINUTE: '0',
  };
  // BENCH_API_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") profiles the API process under the load.
  const apiNodeArgs = (process.env['BENCH_API_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
  let api = await spawnBenchChild('bench/support/api-entry.ts', env, 'ready', apiNodeArgs);
  try {
    const url = /^url (\S+)$/m.exec(api.output())?.[1] ?? '';
    const body = JSON.stringify({
      template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Classify: {{text}}' },
      items: Array.from({ length: ITEMS }, (_, i) => ({ id: `item-${i}`, text: `Item ${i}: a short product review that needs a label.` })),
    });
    const post = async (): Promise<number> => (await fetch(`${url}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).status;
    const health = async (): Promise<number> => {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      return response.status;
    };
    process.stdout.write(`ingest: warming up, then ${SECONDS} s at ${RATE} POST/s with ${ITEMS}-item bodies (${fixed(body.length / 1024)} KiB)…\n`);
    await openLoop(RATE * 2, RATE, post);
    const floor = await openLoop(RATE * SECONDS, RATE, health);
    const load = await openLoop(RATE * SECONDS, RATE, post);
    const loadRss = peakRssMb(api.pid);
    await api.stop();

    process.stdout.write(`ingest: a ${STREAM_BYTES / 1024 / 1024} MB NDJSON body into a fresh API process…\n`);
    api = await spawnBenchChild('bench/support/api-entry.ts', env, 'ready', apiNodeArgs);
    const streamUrl = new URL(`${/^url (\S+)$/m.exec(api.output())?.[1] ?? ''}/v1/runs?endpoint=/v1/chat/completions`);
    const readyRss = rssMb(api.pid);
    const line = (i: number): string =>
      `${JSON.stringify({ custom_id: `r-${i}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Request ${i}: ${'lorem ipsum dolor sit amet '.repeat(36)}` }] } })}\n`;
    let sentBytes = 0;
    let lines = 0;
    const source = Readable.from(
      (function* generate() {
        while (sentBytes < STREAM_BYTES) {
          let chunk = '';
          for (let k = 0; k < 64; k++) chunk += line(lines++);
          sentBytes += chunk.length;
          yield chunk;
        }
      })(),
    );
    const started = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(streamUrl, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      req.on('error', reject);
      void pipeline(source, req).catch(reject);
    });
    const streamMs = performance.now() - started;
    const streamPeak = peakRssMb(api.pid);
    if (status !== 202) throw new Error(`the NDJSON body was answered ${status}`);

    const p = (values: readonly number[], q: number): string => fixed(percentile(values, q), 1);
    const table = markdownTable(
      ['request', 'sent', 'failed', 'p50 (ms)', 'p99 (ms)', 'max (ms)'],
      [
        ['floor: GET /healthz', String(RATE * SECONDS), String(floor.failures), p(floor.latencies, 50), p(floor.latencies, 99), p(floor.latencies, 100)],
        [`POST /v1/runs, ${ITEMS} items`, String(RATE * SECONDS), String(load.failures), p(load.latencies, 50), p(load.latencies, 99), p(load.latencies, 100)],
      ],
      [1, 2, 3, 4, 5],
    );
    const p99 = percentile(load.latencies, 99);
    const summary = [
      `Load: ${RATE} requests/s for ${SECONDS} s, open loop (latency includes any queueing), from this process over loopback; each body ${fixed(body.length / 1024)} KiB. API process peak RSS during the load: ${fixed(loadRss)} MB.`,
      '',
      table,
      '',
      `- p99 ${fixed(p99, 1)} ms for 1,000-item bodies at ${RATE}/s (target under 100 ms): ${verdict(p99 < 100 && load.failures === 0)}.`,
      `- Stream: ${fixed(sentBytes / 1024 / 1024)} MB, ${lines.toLocaleString('en-US')} request lines, accepted in ${fixed(streamMs / 1000, 1)} s (${fixed(sentBytes / 1024 / 1024 / (streamMs / 1000))} MB/s). API RSS ${fixed(readyRss)} MB when ready (the floor), peak ${fixed(streamPeak)} MB, +${fixed(streamPeak - readyRss)} MB (target under 200 MB): ${verdict(streamPeak < 200)}.`,
    ].join('\n');
    process.stdout.write(`\n${summary}\n`);
    if (shouldWrite) await writeSection(HEADING, `${machineLine('npm run bench -- ingest')}\n\n${summary}`);
  } finally {
    await api.stop();
    await redis.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
