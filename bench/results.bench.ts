/**
 * Results: the results stage joining one 50,000-line output file to its
 * shard's manifest and storing the result lines, in a worker process that
 * runs only the results queue (so its peak RSS is the join's).
 *
 * Setup: a 50,000-item chat run is built, submitted and polled to the end by
 * a first worker process (build, submit, poll queues) against the emulator
 * (timing 0). That worker stops; a second one (results queue only) starts
 * and runs the waiting results job, five times in a row (a long-lived
 * worker's case), the shard put back to `terminal` between rounds. Floor,
 * same run, same emulator, five rounds: download the same output file, split
 * it into lines (the stage's own splitter) and JSON.parse each line; for
 * reference, the same with Node's readline. Medians are compared. Contrast: the in-memory join a user might write
 * (naive/naive-results.ts).
 *
 * The worker joins on its default join threads; BATCHLINE_JOIN_THREADS set
 * for the bench reaches it (0: the join on its event loop alone).
 *
 * Run: node --openssl-legacy-provider --import tsx bench/results.bench.ts [--no-write]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import { loadConfig } from '../src/config.js';
import { createDeps, type Deps } from '../src/deps.js';
import { readLineBatches, readLines } from '../src/lib/jsonl.js';
import { createLogger } from '../src/lib/logger.js';
import { nodeHttpFetch } from '../src/lib/node-http-fetch.js';
import { jobIds } from '../src/queues/job-ids.js';
import { createRun } from '../src/runs/create-run.js';
import { enqueue } from '../src/queues/stage-queues.js';
import type { ShardStep } from '../src/runs/run-record.js';
import { storageKeys } from '../src/runs/storage-keys.js';
import { templateDefinitionSchema } from '../src/pipelines/templates/template-definition.js';
import { fixed, machineLine, markdownTable, quick, shouldWrite, verdict, writeSection } from './support/bench-report.js';
import { startBenchRedis } from './support/bench-redis.js';
import { spawnEmulator, spawnBenchChild, workerNodeArgsFromEnv } from './support/child-process.js';
import { peakRssMb, rssMb } from './support/proc-stats.js';

const LINES = quick ? 5_000 : 50_000;
const ROUNDS = quick ? 1 : 5;

/** Runs `work` ROUNDS times, one after another; the milliseconds of each. */
async function timeRounds(work: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return times;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const HEADING = '## Results join (50,000-line output file)';
const MiB = 1024 * 1024;

async function waitForStep(deps: Deps, runId: string, steps: readonly ShardStep[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shard = await deps.ledger.getShard(runId, 0);
    if (shard !== null && steps.includes(shard.step)) return;
    if (Date.now() > deadline) throw new Error(`shard 0 of ${runId} did not reach ${steps.join('/')} (it is ${shard?.step ?? 'missing'})`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-results-'));
  // In its own process: the floor and the stage both read from it without serving it on their own thread.
  const emulator = await spawnEmulator();
  const env = {
    REDIS_URL: redis.url, OPENAI_BASE_URL: emulator.baseURL, OPENAI_API_KEY: 'sk-emulator', STORAGE_URL: `file://${workDir}/data`, BATCHLINE_PREFIX: 'bench',
    BATCHLINE_POLL_INITIAL_MS: '200', BATCHLINE_POLL_MAX_MS: '1000', BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1', LOG_LEVEL: 'warn',
  };
  const deps = await createDeps(loadConfig(env), createLogger('warn', { pretty: false }), { workDir: join(workDir, 'work') });
  const children: Array<Awaited<ReturnType<typeof spawnBenchChild>>> = [];
  try {
    process.stdout.write(`results: building, submitting and running a ${LINES.toLocaleString('en-US')}-request run…\n`);
    const template = templateDefinitionSchema.parse({ type: 'chat', model: 'gpt-4o-mini', prompt: 'Summarise in one line: {{text}}' });
    const filler = 'The quick brown fox jumps over the lazy dog. '.repeat(12);
    const run = await createRun(
      deps,
      { pipeline_id: null, input_kind: 'items', endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', template, source: null, slack_webhook_url: null, output_url: null },
      async (_runId, key) => {
        const lines: string[] = [];
        for (let i = 0; i < LINES; i++) lines.push(`${JSON.stringify({ id: `item-${i}`, text: `${i}: ${filler}` })}\n`);
        await deps.storage.put(key, lines.join(''));
        return { count: LINES };
      },
    );
    const before = await spawnBenchChild('bench/support/worker-entry.ts', { ...env, BATCHLINE_QUEUES: 'build,submit,poll' });
    children.push(before);
    await waitForStep(deps, run.id, ['terminal'], 600_000);
    await before.stop();
    const shard = await deps.ledger.getShard(run.id, 0);
    const outputFileId = shard?.output_file_id;
    if (typeof outputFileId !== 'string') throw new Error('the batch has no output file');
    const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: emulator.baseURL, fetch: nodeHttpFetch, maxRetries: 0 });
    const outputBytes = (await client.files.retrieve(outputFileId)).bytes;

    // Each figure is the median of ROUNDS: one pass over a 40 MB file is a fraction of a second, and
    // on a shared 2-core machine a single pass of either side moved the ratio by ±0.5.
    process.stdout.write(`results: floor (download + line split + JSON.parse of the same lines), ${ROUNDS} rounds…\n`);
    let floorLines = 0;
    const floorTimes = await timeRounds(async () => {
      const response = await client.files.content(outputFileId);
      floorLines = 0;
      // The same line splitter as the stage (the fastest this code base has), so the floor is not slowed by readline.
      for await (const batch of readLineBatches(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>))) {
        for (const line of batch) {
          JSON.parse(line);
          floorLines += 1;
        }
      }
    });
    const floorMs = median(floorTimes);
    // For reference only: the same floor with Node's readline, the splitter this stage used before (and a user would reach for).
    const readlineTimes = await timeRounds(async () => {
      const response = await client.files.content(outputFileId);
      const reader = createInterface({ input: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), crlfDelay: Infinity });
      for await (const line of reader) JSON.parse(line);
    });
    const readlineFloorMs = median(readlineTimes);

    process.stdout.write(`results: the results stage in one worker process, ${ROUNDS} rounds…\n`);
    const payload = { runId: run.id, shard: 0, generation: 0 };
    const resultsJobId = jobIds.results(payload);
    const stageTimes: number[] = [];
    const joinThreads = process.env['BATCHLINE_JOIN_THREADS'];
    const workerEnv = { ...env, BATCHLINE_QUEUES: 'results', ...(joinThreads === undefined ? {} : { BATCHLINE_JOIN_THREADS: joinThreads }) };
    const worker = await spawnBenchChild('bench/support/worker-entry.ts', workerEnv, 'ready', workerNodeArgsFromEnv());
    children.push(worker);
    const readyRss = rssMb(worker.pid);
    let workerPeak = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round > 0) {
        // The stage is safe to run again (the same bytes are stored): put the shard back where the results job finds it.
        // The previous round's results file goes first, as a first run finds none: replacing a 41 MB file
        // makes the file system free the old one's blocks inside the timed rename (20-30 ms here).
        await deps.storage.delete(storageKeys.shardResults(run.id, 0, 0));
        await deps.queues.results.remove(resultsJobId);
        await deps.ledger.updateShard(run.id, 0, { step: ['stored'] }, { step: 'terminal', succeeded: 0, failed: 0 });
        await enqueue(deps.queues, 'results', payload, { jobId: resultsJobId });
      }
      await waitForStep(deps, run.id, ['stored'], 600_000);
      // The ledger says stored a moment before the job is marked finished: wait for the job's own end.
      let job = await deps.queues.results.getJob(resultsJobId);
      for (let tries = 0; job?.finishedOn === undefined && tries < 3_000; tries += 1) {
        await sleep(20);
        job = await deps.queues.results.getJob(resultsJobId);
      }
      stageTimes.push((job?.finishedOn ?? 0) - (job?.processedOn ?? 0));
      workerPeak = Math.max(workerPeak, peakRssMb(worker.pid));
    }
    await worker.stop();
    const stageMs = median(stageTimes);
    const resultsBytes = await deps.storage.size(storageKeys.shardResults(run.id, 0, 0));

    process.stdout.write('results: contrast, an in-memory join…\n');
    const manifestPath = join(workDir, 'manifest.ndjson');
    const manifestLines: string[] = [];
    for await (const line of readLines(await deps.storage.get(storageKeys.shardManifest(run.id, 0)))) manifestLines.push(line);
    await writeFile(manifestPath, `${manifestLines.join('\n')}\n`);
    manifestLines.length = 0;
    const naive = await spawnBenchChild('bench/naive/naive-results.ts', { OPENAI_BASE_URL: emulator.baseURL, BENCH_OUTPUT_FILE_ID: outputFileId, BENCH_MANIFEST: manifestPath, BENCH_RESULTS_PATH: join(workDir, 'naive.ndjson') });
    children.push(naive);
    let naivePeak = 0;
    let naiveMs = Number.NaN;
    const naiveDone = /done (\d+)/;
    while (!naiveDone.test(naive.output())) {
      if (naive.child.exitCode !== null) throw new Error(`naive join failed:\n${naive.output()}`);
      naivePeak = Math.max(naivePeak, peakRssMb(naive.pid));
      await sleep(50);
    }
    naivePeak = Math.max(naivePeak, peakRssMb(naive.pid));
    naiveMs = Number(naiveDone.exec(naive.output())?.[1]);
    await naive.stop();

    const ratio = stageMs / floorMs;
    const rows = [
      ['floor: download + line split + JSON.parse', fixed(floorMs / 1000, 2), '1.00', '', ''],
      ['reference: download + readline + JSON.parse', fixed(readlineFloorMs / 1000, 2), fixed(readlineFloorMs / floorMs, 2), '', ''],
      ['batchline results stage (worker process)', fixed(stageMs / 1000, 2), fixed(ratio, 2), fixed(readyRss), fixed(workerPeak)],
      ['naive in-memory join', fixed(naiveMs / 1000, 2), fixed(naiveMs / floorMs, 2), '', fixed(naivePeak)],
    ];
    const table = markdownTable(['what', 'time (s)', '× floor', 'RSS at start (MB)', 'peak RSS (MB)'], rows, [1, 2, 3, 4]);
    const seconds = (times: readonly number[]): string => times.map((ms) => fixed(ms / 1000, 2)).join(', ');
    const timeMet = ratio <= 2;
    const rssMet = workerPeak < 300;
    const summary = [
      `Output file: ${floorLines.toLocaleString('en-US')} lines, ${fixed(outputBytes / MiB, 1)} MiB (chat answers from the emulator); shard manifest ${LINES.toLocaleString('en-US')} entries${resultsBytes === null ? '' : `; stored results ${fixed(resultsBytes / MiB, 1)} MiB`}. Times are medians of ${ROUNDS} rounds (floor: ${seconds(floorTimes)} s; stage: ${seconds(stageTimes)} s; peak RSS is the highest of the rounds). Stage time is the results job's processedOn → finishedOn in Redis: download and join of the output file, a second pass over the shard's request lines for requests without an answer, and the upload of the results file to storage (local folder; each round starts with none there, as a first run does).`,
      '',
      table,
      '',
      `- Time: ${fixed(ratio, 2)}× the floor (target within 2×): ${verdict(timeMet)}. Against the readline floor: ${fixed(stageMs / readlineFloorMs, 2)}×.`,
      `- Peak RSS of the results worker: ${fixed(workerPeak)} MB, ${fixed(workerPeak - readyRss)} MB above the idle worker (target under 300 MB): ${verdict(rssMet)}. The join keeps one index entry per request of the shard: its item reference as stored and whether it has its line (${LINES.toLocaleString('en-US')} small entries, bounded by OpenAI's 50,000 requests per batch); output lines stream through.`,
    ].join('\n');
    process.stdout.write(`\n${summary}\n`);
    if (shouldWrite) await writeSection(HEADING, `${machineLine('npm run bench -- results')}\n\n${summary}`);
  } finally {
    for (const child of children) await child.stop();
    await deps.close();
    await emulator.stop();
    await redis.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
