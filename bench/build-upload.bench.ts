/**
 * Build + upload of N image requests (N = 1,000, 10,000, 50,000; ~50 KB
 * images): a collected image-moderation run whose items are read from a
 * local folder or from an S3 server (s3rver), built into shards and uploaded
 * to the emulator by one worker process. Measured: time from the run's
 * creation until every shard is uploaded, and the worker's peak RSS (a fresh
 * worker per case, VmHWM).
 *
 * Floor, measured beside each case, in the same conditions: reading the
 * same image bytes (8 at a time) plus uploading as many bytes as the case's
 * shards hold, in files of a full shard's size, through the SDK with
 * nodeHttpFetch (the emulator stores them as it stores the service's). Each
 * case runs ROUNDS times, service then floor, and the fastest of each is
 * kept. Before every service run and every floor, `sync`: each starts with
 * nothing of the previous one's gigabytes still being written back to disk.
 * Contrast: the in-memory build a user might write (naive/naive-build-upload.ts),
 * local images only. The emulator runs in its own process and never validates
 * (validatingMs of hours), so only the transfer is measured.
 *
 * Run: node --openssl-legacy-provider --import tsx bench/build-upload.bench.ts [--no-write] [--no-local] [--no-s3] [--no-naive]
 * (BENCH_SIZES=10000 for one size only)
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { loadConfig } from '../src/config.js';
import { createDeps, type Deps } from '../src/deps.js';
import { createLogger } from '../src/lib/logger.js';
import { nodeHttpFetch } from '../src/lib/node-http-fetch.js';
import { uploadBatchFile } from '../src/lib/upload-batch-file.js';
import { templateDefinitionSchema } from '../src/pipelines/templates/template-definition.js';
import type { SourceDefinition } from '../src/pipelines/sources/source-definition.js';
import { createRun } from '../src/runs/create-run.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { fixed, machineLine, markdownTable, quick, shouldWrite, verdict, writeSection } from './support/bench-report.js';
import { startBenchRedis } from './support/bench-redis.js';
import { spawnEmulator, spawnBenchChild } from './support/child-process.js';
import { peakRssMb, rssMb } from './support/proc-stats.js';

// BENCH_SIZES (e.g. "10000") runs only those sizes: a profile of one case without the whole matrix.
// 7,500 images make a 3-shard run (a shard closes just under 200 MB, about 2,900 of these image lines).
const SIZES = process.env['BENCH_SIZES'] !== undefined ? process.env['BENCH_SIZES'].split(',').map(Number) : quick ? [200, 1_000] : [1_000, 7_500, 10_000, 50_000];
/** Service and floor runs per case, the fastest of each kept: one run of either moved the ratio by up to 0.5 on this shared machine. */
const ROUNDS = quick ? 1 : Number(process.env['BENCH_ROUNDS'] ?? 2);
const IMAGE_BYTES = 50 * 1024;
const READ_PARALLEL = 8;
const HEADING = '## Build + upload of N image requests';
const MiB = 1024 * 1024;
const BUCKET = 'bench-images';

type Storage = 'local' | 's3';

interface Case {
  storage: Storage;
  n: number;
  shards: number;
  shardBytes: number;
  serviceMs: number;
  readMs: number;
  uploadMs: number;
  readyRss: number;
  peakRss: number;
}

const imageName = (i: number): string => `img-${String(i).padStart(6, '0')}.png`;

/** A ~50 KB "PNG": the signature the service sniffs, then random bytes (base64 of random data does not compress). */
function fakePng(): Buffer {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, randomBytes(IMAGE_BYTES - signature.length)]);
}

/**
 * Waits until what earlier steps wrote is on disk: during the writeback of the S3 server's 2.5 GB an
 * upload (which the emulator writes to disk) ran at half its rate, the service's runs as the floor's.
 */
const syncDisk = async (): Promise<void> => {
  await promisify(execFile)('sync');
};

async function eachLimited(count: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function drain(stream: Readable): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
}

async function waitUploaded(deps: Deps, runId: string): Promise<number> {
  const started = Date.now();
  for (;;) {
    const run = await deps.ledger.getRun(runId);
    if (run?.phase === 'failed') throw new Error(`run ${runId} failed: ${run.error ?? ''}`);
    if (run?.phase === 'sharded') {
      const shards = await deps.ledger.getShards(runId);
      if (shards.length === run.shard_count && shards.every((shard) => shard.step !== 'planned')) return shards.length;
    }
    if (Date.now() - started > 1_800_000) throw new Error(`run ${runId} not uploaded after 30 minutes`);
    // Two small reads of the ledger: a short watch keeps the bench's own delay out of the service's time.
    await sleep(10);
  }
}

async function main(): Promise<void> {
  const withS3 = !process.argv.includes('--no-s3');
  const withNaive = !process.argv.includes('--no-naive');
  const withLocal = !process.argv.includes('--no-local');
  const redis = await startBenchRedis();
  const workDir = await mkdtemp(join(tmpdir(), 'batchline-bench-build-'));
  const imagesDir = join(workDir, 'images');
  await mkdir(imagesDir, { recursive: true });
  const emulator = await spawnEmulator({ validatingMs: 20 * 3600_000 });
  const s3 = withS3 ? await startS3Server() : null;
  const env: Record<string, string> = {
    REDIS_URL: redis.url, OPENAI_BASE_URL: emulator.baseURL, OPENAI_API_KEY: 'sk-emulator', STORAGE_URL: `file://${workDir}/data`, BATCHLINE_PREFIX: 'bench',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1', LOG_LEVEL: 'warn', BATCHLINE_POLL_INITIAL_MS: '600000', BATCHLINE_POLL_MAX_MS: '600000',
    ...(s3 === null ? {} : { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey }),
  };
  const deps = await createDeps(loadConfig(env), createLogger('warn', { pretty: false }), { workDir: join(workDir, 'work') });
  const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: emulator.baseURL, fetch: nodeHttpFetch, maxRetries: 0, timeout: 600_000 });
  const template = templateDefinitionSchema.parse({ type: 'image-moderation', model: 'gpt-4o-mini' });
  const cases: Case[] = [];
  const naiveRows: string[][] = [];
  try {
    // One image file, hard-linked under every name: N distinct keys without writing N × 50 KB (both floor and service read them from the page cache).
    const image = fakePng();
    await writeFile(join(imagesDir, imageName(0)), image);
    const largest = Math.max(...SIZES);
    for (let i = 1; i < largest; i++) await link(join(imagesDir, imageName(0)), join(imagesDir, imageName(i)));
    // The floor's uploads: files the size of a full shard, through the same SDK and fetch as the service.
    const floorFile = join(workDir, 'floor.jsonl');
    const floorFileBytes = 190 * MiB;
    const line = `${JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(60_000) }] } })}\n`;
    const out = createWriteStream(floorFile);
    for (let written = 0; written < floorFileBytes; written += line.length) if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    await new Promise<void>((resolve) => out.end(() => resolve()));
    /** Deletes every file the emulator holds, outside any timing: the service's and the floor's gigabytes would pile up on disk case after case. */
    const clearEmulatorFiles = async (): Promise<void> => {
      const ids: string[] = [];
      for await (const file of client.files.list()) ids.push(file.id);
      for (const id of ids) await client.files.delete(id);
    };
    /** Reads the case's images and uploads as many bytes as its shards hold (at least one full file, the time scaled to the bytes). */
    const measureFloor = async (storage: Storage, n: number, shardBytes: number): Promise<{ readMs: number; uploadMs: number }> => {
      await syncDisk();
      const readStarted = performance.now();
      await eachLimited(n, READ_PARALLEL, async (i) => {
        if (s3 === null || storage === 'local') await readFile(join(imagesDir, imageName(i)));
        else await drain((await s3.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: imageName(i) }))).Body as Readable);
      });
      const readMs = performance.now() - readStarted;
      let uploaded = 0;
      const uploadStarted = performance.now();
      while (uploaded < shardBytes) {
        await uploadBatchFile(client, floorFile, 'floor.jsonl');
        uploaded += floorFileBytes;
      }
      const uploadMs = ((performance.now() - uploadStarted) * shardBytes) / uploaded;
      await clearEmulatorFiles();
      return { readMs, uploadMs };
    };

    const storages: Storage[] = [...(withLocal ? (['local'] as const) : []), ...(withS3 ? (['s3'] as const) : [])];
    for (const storage of storages) {
      if (storage === 's3' && s3 !== null) {
        process.stdout.write(`build-upload: putting ${largest.toLocaleString('en-US')} images into the S3 server…\n`);
        await s3.createBucket(BUCKET);
        await eachLimited(largest, 32, async (i) => {
          await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: imageName(i), Body: image }));
        });
      }
      for (const n of SIZES) {
        const source: SourceDefinition = storage === 'local' ? { type: 'local', path: imagesDir } : { type: 's3', bucket: BUCKET };
        const rounds: Case[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          process.stdout.write(`build-upload: ${storage}, N = ${n.toLocaleString('en-US')}, round ${round + 1} of ${ROUNDS}…\n`);
          await syncDisk();
          // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR") profiles the worker: where the time goes.
          const nodeArgs = (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
          const worker = await spawnBenchChild('bench/support/worker-entry.ts', { ...env, BATCHLINE_QUEUES: 'build,submit,poll' }, 'ready', nodeArgs);
          const readyRss = rssMb(worker.pid);
          const started = performance.now();
          const run = await createRun(
            deps,
            { pipeline_id: null, input_kind: 'items', endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', template, source, slack_webhook_url: null, output_url: null },
            async (_runId, key) => {
              const lines: string[] = [];
              for (let i = 0; i < n; i++) lines.push(`${JSON.stringify({ key: imageName(i), version: 'v1', size: IMAGE_BYTES })}\n`);
              await deps.storage.put(key, lines.join(''));
              return { count: n };
            },
          );
          const shards = await waitUploaded(deps, run.id);
          const serviceMs = performance.now() - started;
          const peakRss = peakRssMb(worker.pid);
          await worker.stop();
          const shardBytes = (await deps.ledger.getShards(run.id)).reduce((sum, shard) => sum + shard.bytes, 0);
          await rm(join(workDir, 'data'), { recursive: true, force: true });
          await redis.client.flushall();
          await clearEmulatorFiles();
          const floor = await measureFloor(storage, n, shardBytes);
          rounds.push({ storage, n, shards, shardBytes, serviceMs, readMs: floor.readMs, uploadMs: floor.uploadMs, readyRss, peakRss });
        }
        // The fastest of each side, and the highest peak: the memory target holds for every run.
        const [first] = rounds;
        if (first !== undefined) {
          cases.push({
            ...first,
            serviceMs: Math.min(...rounds.map((entry) => entry.serviceMs)),
            readMs: Math.min(...rounds.map((entry) => entry.readMs)),
            uploadMs: Math.min(...rounds.map((entry) => entry.uploadMs)),
            readyRss: Math.max(...rounds.map((entry) => entry.readyRss)),
            peakRss: Math.max(...rounds.map((entry) => entry.peakRss)),
          });
        }
      }
    }

    if (withNaive) {
      for (const n of SIZES) {
        process.stdout.write(`build-upload: naive in-memory build, N = ${n.toLocaleString('en-US')}…\n`);
        const naive = await spawnBenchChild('bench/naive/naive-build-upload.ts', { OPENAI_BASE_URL: emulator.baseURL, BENCH_IMAGES_DIR: imagesDir, BENCH_COUNT: String(n) });
        let peak = 0;
        const done = /done (\d+)/;
        while (!done.test(naive.output()) && naive.child.exitCode === null && naive.child.signalCode === null) {
          try {
            peak = Math.max(peak, peakRssMb(naive.pid));
          } catch {
            break;
          }
          await sleep(50);
        }
        const ms = done.exec(naive.output())?.[1];
        if (ms !== undefined) peak = Math.max(peak, peakRssMb(naive.pid));
        await naive.stop();
        const service = cases.find((entry) => entry.storage === 'local' && entry.n === n);
        const crash = /heap out of memory|Invalid string length|Cannot create a string|ERR_STRING_TOO_LONG/.exec(naive.output())?.[0];
        naiveRows.push([
          n.toLocaleString('en-US'),
          ms === undefined ? `crashed (${crash ?? 'see output'})` : fixed(Number(ms) / 1000, 1),
          fixed(peak),
          service === undefined ? '' : fixed(service.serviceMs / 1000, 1),
          service === undefined ? '' : fixed(service.peakRss),
        ]);
      }
    }

    const rows = cases.map((entry) => {
      const floor = entry.readMs + entry.uploadMs;
      return [
        entry.storage,
        entry.n.toLocaleString('en-US'),
        String(entry.shards),
        fixed(entry.shardBytes / MiB),
        fixed(entry.serviceMs / 1000, 1),
        fixed(entry.readMs / 1000, 1),
        fixed(entry.uploadMs / 1000, 1),
        fixed(entry.serviceMs / floor, 2),
        fixed(entry.readyRss),
        fixed(entry.peakRss),
      ];
    });
    const table = markdownTable(['images', 'N', 'shards', 'shard MiB', 'build + upload (s)', 'floor: read (s)', 'floor: upload (s)', '× floor', 'worker RSS idle (MB)', 'worker peak RSS (MB)'], rows, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const lines = [
      `~50 KB images (PNG signature + random bytes), ${READ_PARALLEL} read at a time for the floor; template image-moderation (detail low). Worker: one process running build, submit and poll (build concurrency 2, submit 4), fresh per case. The service time runs from the run's creation to the last shard's upload; the floor is reading the same images plus uploading the same number of bytes in full-shard files, done one after the other, measured beside each case; the fastest of ${ROUNDS} runs of each is kept, the highest peak RSS.`,
      '',
      table,
      '',
    ];
    for (const storage of ['local', 's3'] as const) {
      const mine = cases.filter((entry) => entry.storage === storage);
      if (mine.length === 0) continue;
      const worst = Math.max(...mine.map((entry) => entry.serviceMs / (entry.readMs + entry.uploadMs)));
      const peaks = mine.map((entry) => entry.peakRss);
      const spread = (Math.max(...peaks) - Math.min(...peaks)) / Math.min(...peaks);
      lines.push(
        `- ${storage}: worst ratio ${fixed(worst, 2)}× the floor (target within 1.5×): ${verdict(worst <= 1.5)}. Peak RSS ${fixed(Math.min(...peaks))}–${fixed(Math.max(...peaks))} MB (target under 300 MB: ${verdict(Math.max(...peaks) < 300)}; spread ${fixed(spread * 100, 1)} % from the smallest to the largest N, target within 10 %: ${verdict(spread <= 0.1)}).`,
      );
    }
    if (naiveRows.length > 0) {
      lines.push('', 'Side by side with the in-memory build a user might write (local images, same emulator, SDK default fetch + toFile):', '');
      lines.push(markdownTable(['N', 'naive time (s)', 'naive peak RSS (MB)', 'batchline time (s)', 'batchline peak RSS (MB)'], naiveRows, [0, 1, 2, 3, 4]));
    }
    const summary = lines.join('\n');
    process.stdout.write(`\n${summary}\n`);
    if (shouldWrite) await writeSection(HEADING, `${machineLine('npm run bench -- build-upload')}\n\n${summary}`);
  } finally {
    await deps.close();
    await emulator.stop();
    await s3?.close();
    await redis.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
