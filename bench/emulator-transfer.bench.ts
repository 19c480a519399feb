/**
 * Emulator transfer (150 MB): uploads a 150 MiB JSONL batch file through the
 * official SDK with nodeHttpFetch, runs it as a batch, and downloads a
 * ~150 MiB output file, measuring the peak RSS of this (client) process and
 * of the emulator, which runs in a child process so the two are measured
 * apart. Floors from the same run: a bare node process, and a node process
 * that only streams the same file from disk. For contrast, the same upload
 * through the SDK's default fetch (Node's built-in fetch).
 *
 * Run: npm run bench -- emulator-transfer [--no-contrast] [--no-write] (BENCH_QUICK=1 writes nothing)
 * Writes its table under "## Emulator transfer (150 MB)" in bench/RESULTS.md.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { startEmulator } from '../src/emulator/start-emulator.js';
import { nodeHttpFetch } from '../src/lib/node-http-fetch.js';
import { uploadBatchFile } from '../src/lib/upload-batch-file.js';
import { machineLine, shouldWrite, writeSection } from './support/bench-report.js';

const MiB = 1024 * 1024;
const TARGET_BYTES = 150 * MiB;
/** 50,000 requests (OpenAI's maximum) of ~3 KiB make 150 MiB. */
const REQUESTS = 50_000;
const HERE = dirname(fileURLToPath(import.meta.url));
const WORK_DIR = join(HERE, '.work', 'emulator-transfer');
const HEADING = '## Emulator transfer (150 MB)';

type ChildMessage = { type: 'ready'; baseURL: string } | { type: 'phase-set'; phase: string } | { type: 'report'; peaks: Record<string, PhasePeak>; maxRssKb: number };
type ParentMessage = { type: 'phase'; phase: string } | { type: 'report' } | { type: 'stop' };

interface PhasePeak {
  startMb: number;
  peakMb: number;
}

// A full GC before each phase, so a phase starts from live memory and not from the last one's garbage.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

/** Samples RSS every 5 ms and keeps the peak per named phase. */
class RssSampler {
  readonly peaks: Record<string, PhasePeak> = {};
  private phase = 'idle';
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.enter('idle');
    this.timer = setInterval(() => this.sample(), 5);
    this.timer.unref();
  }

  private sample(): void {
    const rss = process.memoryUsage.rss() / 1e6;
    const current = this.peaks[this.phase];
    if (current !== undefined && rss > current.peakMb) current.peakMb = rss;
  }

  enter(phase: string): void {
    this.sample();
    collectGarbage();
    this.phase = phase;
    const rss = process.memoryUsage.rss() / 1e6;
    this.peaks[phase] = { startMb: rss, peakMb: rss };
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------- emulator child

async function runEmulatorChild(): Promise<void> {
  const sampler = new RssSampler();
  const emulator = await startEmulator({ logLevel: 'silent' });
  const send = (message: ChildMessage): void => void process.send?.(message);
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'phase') {
      sampler.enter(message.phase);
      send({ type: 'phase-set', phase: message.phase });
    } else if (message.type === 'report') {
      sampler.stop();
      send({ type: 'report', peaks: sampler.peaks, maxRssKb: process.resourceUsage().maxRSS });
    } else if (message.type === 'stop') {
      void emulator.close().then(() => process.exit(0));
    }
  });
  send({ type: 'ready', baseURL: emulator.baseURL });
}

class EmulatorChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseURL: string,
  ) {}

  static async start(): Promise<EmulatorChild> {
    const child = fork(fileURLToPath(import.meta.url), ['--emulator-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const [message] = (await once(child, 'message')) as [ChildMessage];
    if (message.type !== 'ready') throw new Error(`emulator child said ${JSON.stringify(message)}`);
    return new EmulatorChild(child, message.baseURL);
  }

  private async ask(message: ParentMessage, answer: ChildMessage['type']): Promise<ChildMessage> {
    const reply = new Promise<ChildMessage>((resolve) => {
      const listener = (received: ChildMessage): void => {
        if (received.type !== answer) return;
        this.child.off('message', listener);
        resolve(received);
      };
      this.child.on('message', listener);
    });
    this.child.send(message);
    return reply;
  }

  async phase(phase: string): Promise<void> {
    await this.ask({ type: 'phase', phase }, 'phase-set');
  }

  async report(): Promise<{ peaks: Record<string, PhasePeak>; maxRssKb: number }> {
    const reply = await this.ask({ type: 'report' }, 'report');
    if (reply.type !== 'report') throw new Error('unexpected reply');
    return reply;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.send({ type: 'stop' });
    await exited;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------- helpers

/** A generic chat request whose echo answer, cut by max_completion_tokens, is about as long as the request. */
async function writeInput(path: string): Promise<number> {
  const handle = await open(path, 'w');
  const lineBytes = Math.floor(TARGET_BYTES / REQUESTS);
  let bytes = 0;
  let batch: string[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const head = `{"custom_id":"req-${String(i).padStart(5, '0')}","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","max_completion_tokens":590,"messages":[{"role":"user","content":"`;
    const tail = `"}]}}\n`;
    const filler = `Item ${i}: ${'lorem ipsum dolor sit amet '.repeat(200)}`.slice(0, lineBytes - head.length - tail.length);
    const line = head + filler + tail;
    bytes += line.length;
    batch.push(line);
    if (batch.length === 1000) {
      await handle.write(batch.join(''));
      batch = [];
    }
  }
  await handle.write(batch.join(''));
  await handle.close();
  return bytes;
}

/** maxRSS (MB) of a node process running a small script: the floors. */
function nodeMaxRssMb(script: string, args: string[] = []): number {
  const result = spawnSync(process.execPath, ['-e', script, '--', ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`floor process failed: ${result.stderr}`);
  return Number(result.stdout.trim()) / 1e3;
}

const mb = (n: number): string => n.toFixed(0);
const seconds = (ms: number): string => (ms / 1000).toFixed(1);
const rate = (bytes: number, ms: number): string => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MiB/s`;

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

// ---------------------------------------------------------------- main

interface Row {
  process: string;
  phase: string;
  before: number;
  peak: number;
  ms: number | null;
  note: string;
}

async function main(): Promise<void> {
  const contrast = !process.argv.includes('--no-contrast');
  await mkdir(WORK_DIR, { recursive: true });
  const inputPath = join(WORK_DIR, 'input.jsonl');
  const sampler = new RssSampler();
  let emulator: EmulatorChild | undefined;
  try {
    process.stdout.write('emulator-transfer: writing the 150 MiB input file…\n');
    const inputBytes = await writeInput(inputPath);

    const bareNode = nodeMaxRssMb('process.stdout.write(String(process.resourceUsage().maxRSS))');
    const streamFloor = nodeMaxRssMb(
      "const fs=require('fs');let n=0;fs.createReadStream(process.argv[1]).on('data',c=>n+=c.length).on('end',()=>process.stdout.write(String(process.resourceUsage().maxRSS)))",
      [inputPath],
    );

    emulator = await EmulatorChild.start();
    const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: emulator.baseURL, fetch: nodeHttpFetch, maxRetries: 0, timeout: 600_000 });
    await client.files.list();
    sampler.enter('idle');
    await emulator.phase('idle');

    process.stdout.write('emulator-transfer: uploading…\n');
    sampler.enter('upload');
    await emulator.phase('upload');
    const upload = await timed(() => uploadBatchFile(client, inputPath, 'input.jsonl'));

    process.stdout.write('emulator-transfer: running the batch (validation, 50,000 responses)…\n');
    sampler.enter('batch');
    await emulator.phase('batch');
    const batch = await timed(async () => {
      const created = await client.batches.create({ input_file_id: upload.value.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      // Timing 0: the first retrieve waits for validation and the output file.
      return client.batches.retrieve(created.id);
    });
    if (batch.value.status !== 'completed' || typeof batch.value.output_file_id !== 'string') throw new Error(`batch ended ${batch.value.status}`);
    const outputBytes = (await client.files.retrieve(batch.value.output_file_id)).bytes;

    process.stdout.write('emulator-transfer: downloading and parsing the output…\n');
    sampler.enter('download');
    await emulator.phase('download');
    const download = await timed(async () => {
      const response = await client.files.content(batch.value.output_file_id as string);
      const lines = createInterface({ input: Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), crlfDelay: Infinity });
      let count = 0;
      let answered = 0;
      for await (const line of lines) {
        const parsed = JSON.parse(line) as { response: { status_code: number } | null };
        count++;
        if (parsed.response?.status_code === 200) answered++;
      }
      return { count, answered };
    });
    if (download.value.count !== REQUESTS) throw new Error(`downloaded ${download.value.count} lines`);

    let contrastRun: { ms: number; before: number; peak: number } | null = null;
    if (contrast) {
      process.stdout.write("emulator-transfer: the same upload through the SDK's default fetch, for contrast…\n");
      const defaultClient = new OpenAI({ apiKey: 'sk-emulator', baseURL: emulator.baseURL, maxRetries: 0, timeout: 600_000 });
      sampler.enter('upload (default fetch)');
      await emulator.phase('upload (default fetch)');
      const run = await timed(() => uploadBatchFile(defaultClient, inputPath, 'input.jsonl'));
      const peak = sampler.peaks['upload (default fetch)'];
      if (peak !== undefined) contrastRun = { ms: run.ms, before: peak.startMb, peak: peak.peakMb };
    }
    sampler.stop();
    const emulatorReport = await emulator.report();
    await emulator.stop();

    const clientPeak = (phase: string): PhasePeak => sampler.peaks[phase] ?? { startMb: 0, peakMb: 0 };
    const emulatorPeak = (phase: string): PhasePeak => emulatorReport.peaks[phase] ?? { startMb: 0, peakMb: 0 };
    const rows: Row[] = [
      { process: 'client (SDK + nodeHttpFetch)', phase: 'upload 150 MiB', before: clientPeak('upload').startMb, peak: clientPeak('upload').peakMb, ms: upload.ms, note: rate(inputBytes, upload.ms) },
      { process: 'emulator', phase: 'upload 150 MiB', before: emulatorPeak('upload').startMb, peak: emulatorPeak('upload').peakMb, ms: upload.ms, note: 'multipart streamed to disk' },
      {
        process: 'emulator',
        phase: 'batch: validate + write output',
        before: emulatorPeak('batch').startMb,
        peak: emulatorPeak('batch').peakMb,
        ms: batch.ms,
        note: `${REQUESTS.toLocaleString('en-US')} requests, output ${(outputBytes / MiB).toFixed(0)} MiB`,
      },
      {
        process: 'client (SDK + nodeHttpFetch)',
        phase: `download ${(outputBytes / MiB).toFixed(0)} MiB + parse lines`,
        before: clientPeak('download').startMb,
        peak: clientPeak('download').peakMb,
        ms: download.ms,
        note: rate(outputBytes, download.ms),
      },
      { process: 'emulator', phase: `download ${(outputBytes / MiB).toFixed(0)} MiB`, before: emulatorPeak('download').startMb, peak: emulatorPeak('download').peakMb, ms: download.ms, note: 'file streamed from disk' },
    ];
    if (contrastRun !== null) {
      rows.push({
        process: "client (SDK's default fetch)",
        phase: 'upload 150 MiB (contrast)',
        before: contrastRun.before,
        peak: contrastRun.peak,
        ms: contrastRun.ms,
        note: "Node 20's fetch buffers the body",
      });
    }

    const table = [
      '| process | phase | RSS before (MB) | peak RSS (MB) | growth (MB) | time (s) | note |',
      '| --- | --- | ---: | ---: | ---: | ---: | --- |',
      ...rows.map((row) => `| ${row.process} | ${row.phase} | ${mb(row.before)} | ${mb(row.peak)} | ${mb(row.peak - row.before)} | ${row.ms === null ? '' : seconds(row.ms)} | ${row.note} |`),
    ].join('\n');
    const floors =
      `Floors measured in the same run: a bare \`node\` process peaks at ${mb(bareNode)} MB; a \`node\` process that only streams the same ` +
      `${(inputBytes / MiB).toFixed(0)} MiB file from disk peaks at ${mb(streamFloor)} MB (${mb(streamFloor - bareNode)} MB above bare node: the cost of streaming alone). ` +
      `Whole-run peaks (maxRSS): client ${mb(process.resourceUsage().maxRSS / 1e3)} MB${contrast ? ' (includes the default-fetch contrast)' : ''}, emulator ${mb(emulatorReport.maxRssKb / 1e3)} MB.`;
    const flat = rows.filter((row) => !row.phase.includes('contrast')).every((row) => row.peak - row.before < (inputBytes / 1e6) / 3);

    process.stdout.write(`\n${table}\n\n${floors}\n\nmemory flat (every growth under a third of the file): ${flat ? 'yes' : 'NO'}\n`);

    if (shouldWrite) {
      const body = [
        `Input: ${(inputBytes / MiB).toFixed(1)} MiB, ${REQUESTS.toLocaleString('en-US')} chat requests, uploaded with \`uploadBatchFile\` (the file read from its path in 256 KB chunks) ` +
          `through \`new OpenAI({ fetch: nodeHttpFetch })\`. Output: ${(outputBytes / MiB).toFixed(1)} MiB, downloaded with \`files.content\` and read ` +
          'line by line (readline + JSON.parse). The emulator ran in a child process with timing 0; RSS was sampled every 5 ms in each process.',
        '',
        table,
        '',
        floors,
        '',
        `Memory flat (every growth under a third of the file size): **${flat ? 'yes' : 'no'}**.`,
        '',
      ].join('\n');
      await writeSection(HEADING, `${machineLine('npm run bench -- emulator-transfer')}\n\n${body}`);
    }
  } finally {
    sampler.stop();
    emulator?.kill();
    await rm(WORK_DIR, { recursive: true, force: true });
  }
}

if (process.argv.includes('--emulator-child')) {
  await runEmulatorChild();
} else {
  await main();
  // Fetch keep-alive sockets would hold the loop open a while longer.
  process.exit(0);
}
