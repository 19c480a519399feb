/**
 * Waiting at scale: N batches (10,000) in flight on one worker process.
 *
 * The batches are real emulator batches that stay in_progress for hours; the
 * service's ledger records and poll jobs are seeded directly (as submit would
 * leave them) instead of running N full runs. Every poll job starts delayed
 * for hours, so in the first window nothing is due: that window's CPU is the
 * cost of waiting alone. In the second window D jobs are promoted at once (D
 * checks fall due together, as after an outage): each must cost exactly one
 * retrieve, no other batch may be retrieved, and retrieves per second must
 * stay under BATCHLINE_POLLS_PER_SECOND. Retrieves are counted at the
 * emulator (an onResponse hook added before it listens).
 * Contrast: the loop a user might write (retrieve every id, sleep a minute),
 * on the same batches for one window.
 *
 * Run: node --openssl-legacy-provider --import tsx bench/waiting.bench.ts [--no-write]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { loadConfig } from '../src/config.js';
import { createDeps } from '../src/deps.js';
import { buildEmulatorApp } from '../src/emulator/emulator-app.js';
import { createLogger } from '../src/lib/logger.js';
import { jobIds } from '../src/queues/job-ids.js';
import { enqueue } from '../src/queues/stage-queues.js';
import { newRunId } from '../src/runs/new-run-id.js';
import { newShardRecord, type RunRecord } from '../src/runs/run-record.js';
import { fixed, machineLine, markdownTable, quick, shouldWrite, verdict, writeSection } from './support/bench-report.js';
import { startBenchRedis, type BenchRedis } from './support/bench-redis.js';
import { spawnBenchChild } from './support/child-process.js';
import { cpuMs, peakRssMb, resetPeakRss } from './support/proc-stats.js';

const BATCHES = quick ? 1_000 : 10_000;
const DUE = quick ? 100 : 1_000;
const WINDOW_MS = (quick ? 15 : 60) * 1000;
const POLLS_PER_SECOND = 20;
const SHARDS_PER_RUN = 50;
const HEADING = '## Waiting (10,000 batches in flight)';
const HOUR = 3600_000;

/** Runs `work` over items with at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index] as T, index);
      }
    }),
  );
}

/**
 * Waits for the worker's first ledger sweep to end (the pass holds the
 * sweeper lock while it runs); its wall-clock time as seen from here. A pass
 * too short to be seen between two looks is taken as over once 10 s passed.
 */
async function firstSweepMs(client: BenchRedis['client'], lockKey: string): Promise<number> {
  const since = Date.now();
  let startedAt: number | null = null;
  for (;;) {
    const held = (await client.exists(lockKey)) === 1;
    if (held && startedAt === null) startedAt = Date.now();
    if (!held && startedAt !== null) return Date.now() - startedAt;
    if (!held && Date.now() - since > 10_000) return 0;
    if (Date.now() - since > 300_000) throw new Error('the first ledger sweep did not end within 5 minutes');
    await sleep(10);
  }
}

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-waiting-'));
  // Batches stay in_progress far beyond the bench; the first retrieve of each is its only state change.
  const emulatorApp = buildEmulatorApp({ inProgressMs: 20 * HOUR, logLevel: 'silent' });
  const retrieves: Array<{ at: number; batchId: string }> = [];
  emulatorApp.addHook('onResponse', async (request) => {
    if (request.method === 'GET' && request.routeOptions.url === '/v1/batches/:batch_id') {
      retrieves.push({ at: Date.now(), batchId: (request.params as { batch_id: string }).batch_id });
    }
  });
  await emulatorApp.listen({ host: '127.0.0.1', port: 0 });
  const baseURL = `http://127.0.0.1:${(emulatorApp.server.address() as AddressInfo).port}/v1`;
  const env = { REDIS_URL: redis.url, OPENAI_BASE_URL: baseURL, OPENAI_API_KEY: 'sk-emulator', STORAGE_URL: `file://${workDir}/data`, BATCHLINE_PREFIX: 'bench', BATCHLINE_POLLS_PER_SECOND: String(POLLS_PER_SECOND), BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1', LOG_LEVEL: 'warn' };
  const deps = await createDeps(loadConfig(env), createLogger('warn', { pretty: false }), { workDir: join(workDir, 'work') });
  const client = new OpenAI({ apiKey: 'sk-emulator', baseURL, maxRetries: 2 });
  let worker: Awaited<ReturnType<typeof spawnBenchChild>> | undefined;
  try {
    process.stdout.write(`waiting: creating ${BATCHES.toLocaleString('en-US')} emulator batches…\n`);
    const input = await client.files.create({
      file: new File(['{"custom_id":"r0","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}}\n'], 'in.jsonl'),
      purpose: 'batch',
    });
    const batchIds: string[] = new Array<string>(BATCHES);
    const expiresAt: number[] = new Array<number>(BATCHES);
    await eachLimited(Array.from({ length: BATCHES }, (_, i) => i), 16, async (i) => {
      const batch = await client.batches.create({ input_file_id: input.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      batchIds[i] = batch.id;
      expiresAt[i] = batch.expires_at ?? 0;
    });

    process.stdout.write('waiting: seeding the ledger and the poll jobs…\n');
    const memoryBefore = await redis.usedMemory();
    const now = new Date().toISOString();
    const refs: Array<{ runId: string; shard: number; batchId: string }> = [];
    for (let first = 0; first < BATCHES; first += SHARDS_PER_RUN) {
      const run: RunRecord = {
        id: newRunId(), pipeline_id: null, phase: 'sharded', created_at: now, updated_at: now, finished_at: null, input_kind: 'requests',
        endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', template: null, items: SHARDS_PER_RUN * 50_000, rejected: 0, shard_count: SHARDS_PER_RUN,
        cancel_requested: false, error: null, results_url: null, errors_url: null, source: null, slack_webhook_url: null, metadata: null, output_url: null,
      };
      await deps.ledger.createRun(run);
      for (let shard = 0; shard < SHARDS_PER_RUN && first + shard < BATCHES; shard++) refs.push({ runId: run.id, shard, batchId: batchIds[first + shard] as string });
    }
    await eachLimited(refs, 32, async (ref, index) => {
      await deps.ledger.addShard(ref.runId, newShardRecord({ shard: ref.shard, model: 'gpt-4o-mini', requests: 50_000, bytes: 190_000_000, estimated_tokens: 5_000_000 }));
      await deps.ledger.updateShard(ref.runId, ref.shard, {}, { step: 'created', input_file_id: input.id, batch_id: ref.batchId, batch_status: 'in_progress', expires_at: expiresAt[index] ?? null });
      await deps.ledger.rememberBatch(ref.batchId, { runId: ref.runId, shard: ref.shard, generation: 0 });
      // checks: 20 puts the next check of a due batch at the cadence's maximum (5 minutes), after both windows.
      const payload = { runId: ref.runId, shard: ref.shard, generation: 0, batchId: ref.batchId, checks: 20 };
      await enqueue(deps.queues, 'poll', payload, { jobId: jobIds.poll(payload), delay: 2 * HOUR + index * 100 });
    });
    const memoryAfter = await redis.usedMemory();
    const bytesPerBatch = (memoryAfter - memoryBefore) / BATCHES;
    // Where the bytes go: one waiting batch's own keys, as Redis counts them.
    const sample = refs[0] as { runId: string; shard: number; batchId: string };
    const keyBytes = async (key: string): Promise<number> => Number(await redis.client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    const shardHashBytes = await keyBytes(`bench:ledger:run:${sample.runId}:shard:${sample.shard}`);
    const jobHashBytes = await keyBytes(`bench:poll:${jobIds.poll({ ...sample, generation: 0 })}`);
    const indexBytes = bytesPerBatch - shardHashBytes - jobHashBytes;
    // Shared keys, per batch: the delayed set and the batch index grow with the batches; BullMQ's event stream is
    // capped (about 10,000 events per queue), so its share falls as batches grow, and a busy Redis holds it anyway.
    const sharedBytes = async (key: string): Promise<number> => (await keyBytes(key)) / BATCHES;
    const delayedSetBytes = await sharedBytes('bench:poll:delayed');
    const batchIndexBytes = await sharedBytes('bench:ledger:batches');
    const eventStreamBytes = await sharedBytes('bench:poll:events');

    process.stdout.write('waiting: starting the worker process…\n');
    // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") profiles the worker: where the waiting cost goes.
    const workerNodeArgs = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
    worker = await spawnBenchChild('bench/support/worker-entry.ts', env, 'ready', workerNodeArgs);
    // The worker sweeps the ledger at start and every BATCHLINE_SWEEP_INTERVAL_MS (60 s) after a pass ends. Window 1
    // starts 5 s after the first pass ends, so it holds the second pass whole (when it takes under 5 s) wherever the
    // first one ends: the waiting cost with one sweep a minute, not whichever part of a pass the window happened to catch.
    const sweepMs = await firstSweepMs(redis.client, 'bench:ledger:sweeper-lock');
    await sleep(5_000);
    const retrievesAtStart = retrieves.length;

    process.stdout.write(`waiting: window 1 (${WINDOW_MS / 1000} s, nothing due)…\n`);
    resetPeakRss(worker.pid);
    const idleCpuStart = cpuMs(worker.pid);
    const redisCpuStart = cpuMs(redis.pid);
    await sleep(WINDOW_MS);
    const idleCpu = cpuMs(worker.pid) - idleCpuStart;
    const idleRedisCpu = cpuMs(redis.pid) - redisCpuStart;
    const idleRetrieves = retrieves.length - retrievesAtStart;

    process.stdout.write(`waiting: window 2 (${WINDOW_MS / 1000} s, ${DUE} checks fall due at once)…\n`);
    const due = new Set(refs.slice(0, DUE).map((ref) => ref.batchId));
    const dueCpuStart = cpuMs(worker.pid);
    const dueStartedAt = Date.now();
    const retrievesBeforeDue = retrieves.length;
    await eachLimited(refs.slice(0, DUE), 32, async (ref) => {
      const job = await deps.queues.poll.getJob(jobIds.poll({ ...ref, generation: 0 }));
      await job?.promote();
    });
    await sleep(Math.max(0, dueStartedAt + WINDOW_MS - Date.now()));
    const dueCpu = cpuMs(worker.pid) - dueCpuStart;
    const workerPeak = peakRssMb(worker.pid);
    const window2 = retrieves.slice(retrievesBeforeDue);
    const perBatch = new Map<string, number>();
    for (const call of window2) perBatch.set(call.batchId, (perBatch.get(call.batchId) ?? 0) + 1);
    const notDue = window2.filter((call) => !due.has(call.batchId)).length;
    const repeated = [...perBatch.values()].filter((count) => count > 1).length;
    const dueAnswered = [...due].filter((id) => perBatch.has(id)).length;
    // BullMQ's limiter counts in fixed windows that do not line up with ours, so one second of ours may
    // hold the end of one of its windows and the start of the next: the cap is judged over 10 s.
    const times = window2.map((call) => call.at).sort((a, b) => a - b);
    const maxIn = (spanMs: number): number => {
      let most = 0;
      for (let first = 0, last = 0; last < times.length; last++) {
        while ((times[last] as number) - (times[first] as number) >= spanMs) first++;
        most = Math.max(most, last - first + 1);
      }
      return most;
    };
    const maxPerSecond = maxIn(1000);
    const maxPer10s = maxIn(10_000);
    const lastCheckS = window2.length === 0 ? 0 : (Math.max(...window2.map((call) => call.at)) - dueStartedAt) / 1000;
    await worker.stop();
    worker = undefined;

    process.stdout.write(`waiting: contrast, a retrieve-every-batch loop (${WINDOW_MS / 1000} s)…\n`);
    const idsFile = join(workDir, 'batch-ids.txt');
    await writeFile(idsFile, batchIds.join('\n'));
    const naiveStart = retrieves.length;
    const naive = await spawnBenchChild('bench/naive/naive-poll-loop.ts', { OPENAI_BASE_URL: baseURL, BENCH_BATCH_IDS: idsFile, BENCH_SECONDS: String(WINDOW_MS / 1000) });
    const naiveCpuStart = cpuMs(naive.pid);
    const naiveExit = new Promise<void>((resolve) => naive.child.once('exit', () => resolve()));
    let naiveCpu = 0;
    let naivePeak = 0;
    // Sample until it exits (its CPU and peak are gone with the process).
    while (naive.child.exitCode === null) {
      try {
        naiveCpu = cpuMs(naive.pid) - naiveCpuStart;
        naivePeak = peakRssMb(naive.pid);
      } catch {
        break;
      }
      await Promise.race([sleep(200), naiveExit]);
    }
    const naiveRetrieves = retrieves.length - naiveStart;

    const coreShare = (ms: number): number => (ms / WINDOW_MS) * 100;
    const rows = [
      ['batchline worker', `${WINDOW_MS / 1000} s, nothing due`, '0', String(idleRetrieves), fixed(idleCpu), `${fixed(coreShare(idleCpu), 2)} %`, fixed(workerPeak)],
      ['batchline worker', `${WINDOW_MS / 1000} s, ${DUE} due at once`, String(DUE), String(window2.length), fixed(dueCpu), `${fixed(coreShare(dueCpu), 2)} %`, fixed(workerPeak)],
      ['naive loop (retrieve all, sleep 60 s)', `${WINDOW_MS / 1000} s, nothing due`, '0', String(naiveRetrieves), fixed(naiveCpu), `${fixed(coreShare(naiveCpu), 2)} %`, fixed(naivePeak)],
    ];
    const table = markdownTable(['process', 'window', 'checks due', 'retrieve calls', 'CPU (ms)', 'share of one core', 'peak RSS (MB)'], rows, [2, 3, 4, 5, 6]);
    const idleMet = coreShare(idleCpu) < 1;
    const exactMet = idleRetrieves === 0 && notDue === 0 && repeated === 0 && dueAnswered === DUE;
    const capMet = maxPer10s <= POLLS_PER_SECOND * 10 + POLLS_PER_SECOND;
    const memoryMet = bytesPerBatch < 2048;
    const summary = [
      `Batches waiting: ${BATCHES.toLocaleString('en-US')} (${BATCHES / SHARDS_PER_RUN} runs of ${SHARDS_PER_RUN} shards), each a ledger shard in step \`created\` plus one delayed poll job, one worker process (every stage's worker, poll concurrency 50, \`BATCHLINE_POLLS_PER_SECOND=${POLLS_PER_SECOND}\`).`,
      '',
      table,
      '',
      `- Waiting cost (window 1): ${fixed(idleCpu)} ms CPU in ${WINDOW_MS / 1000} s = ${fixed(coreShare(idleCpu), 3)} % of one core for ${BATCHES.toLocaleString('en-US')} waiting batches (Redis itself: ${fixed(idleRedisCpu)} ms). It includes one whole pass of the ledger sweeper (every BATCHLINE_SWEEP_INTERVAL_MS, default 60 s: the window starts 5 s after the first pass ends), which reads every active run's shards and checks their jobs: its cost grows with the batches in flight. The first pass, at the worker's start, took ${fixed(sweepMs)} ms of wall-clock time. Floor: 0. Target under 1 %: ${verdict(idleMet)}.`,
      `- Checks (window 2): ${DUE} due, ${window2.length} retrieve calls; due batches retrieved: ${dueAnswered}/${DUE}; retrieved more than once: ${repeated}; retrieves of batches not due: ${notDue}; retrieves in window 1: ${idleRetrieves}. Target "exactly one retrieve per due check, none not due": ${verdict(exactMet)}.`,
      `- Cap (${POLLS_PER_SECOND}/s across workers): at most ${maxPer10s} retrieves in any 10 s (${fixed(maxPer10s / 10, 1)}/s) and ${maxPerSecond} in any 1 s (BullMQ's limiter is a fixed-window counter: a sliding second can straddle two of its windows); the ${DUE} due checks were drained in ${fixed(lastCheckS, 1)} s (floor at the cap: ${fixed(DUE / POLLS_PER_SECOND, 1)} s). ${verdict(capMet)}. CPU per check: ${fixed(dueCpu / Math.max(1, window2.length), 2)} ms (includes the window's idle cost).`,
      `- Redis: used_memory grew ${fixed((memoryAfter - memoryBefore) / 1024 / 1024, 1)} MiB for ${BATCHES.toLocaleString('en-US')} batches = ${fixed(bytesPerBatch)} bytes per waiting batch (shard hash + batch index entry + delayed job, run records shared by ${SHARDS_PER_RUN} shards). Of it: the shard's ledger hash ${shardHashBytes} bytes, the poll job's hash ${jobHashBytes} bytes (name, data, opts, timestamps), the rest (${fixed(indexBytes)} bytes): the delayed-set entry ${fixed(delayedSetBytes)}, the batch-index entry ${fixed(batchIndexBytes)}, the poll queue's event stream ${fixed(eventStreamBytes)} (BullMQ caps it at about 10,000 events per queue, so this share is fixed cost spread over the batches, not a cost per batch), and the keyspace's own entries, the run's shard set and allocator overhead. Target under 2 KB: ${verdict(memoryMet)}.`,
      `- Naive contrast: ${naiveRetrieves.toLocaleString('en-US')} retrieve calls in one window, none of them for a due check; ${fixed(coreShare(naiveCpu), 1)} % of one core.`,
    ].join('\n');
    process.stdout.write(`\n${summary}\n`);
    if (shouldWrite) await writeSection(HEADING, `${machineLine('npm run bench -- waiting')}\n\n${summary}`);
    if (!exactMet) process.exitCode = 1;
  } finally {
    await worker?.stop();
    await deps.close();
    await emulatorApp.close();
    await redis.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
process.exit(process.exitCode ?? 0);
