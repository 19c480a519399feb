import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { FileObject } from 'openai/resources/files';
import type { EmulatorOptionsInput } from '../../src/emulator/emulator-options.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.js';
import { nodeHttpFetch } from '../../src/lib/node-http-fetch.js';
import { uploadBatchFile } from '../../src/lib/upload-batch-file.js';

/** Helpers shared by the emulator tests: everything goes through the official SDK. */
export interface EmulatorKit {
  emulator: RunningEmulator;
  client: OpenAI;
  dir: string;
  /** Writes lines (objects are JSON-encoded, strings kept as they are) to a .jsonl file. */
  writeJsonl(name: string, lines: ReadonlyArray<unknown>): Promise<string>;
  upload(lines: ReadonlyArray<unknown>, name?: string): Promise<FileObject>;
  /** Uploads and creates a batch. */
  createBatch(lines: ReadonlyArray<unknown>, params?: Partial<OpenAI.Batches.BatchCreateParams>): Promise<Batch>;
  /** Polls retrieve (bounded) until the batch reaches one of the statuses. */
  waitForStatus(batchId: string, statuses: ReadonlyArray<Batch['status']>, timeoutMs?: number): Promise<Batch>;
  /** Streams a file's content through files.content and parses each line. */
  readJsonl<T = ResultLine>(fileId: string): Promise<T[]>;
  close(): Promise<void>;
}

export interface ResultLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

export const TERMINAL: ReadonlyArray<Batch['status']> = ['completed', 'failed', 'expired', 'cancelled'];

export function makeClient(emulator: RunningEmulator, options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): OpenAI {
  return new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.baseURL, fetch: nodeHttpFetch, ...options });
}

export async function startKit(options: EmulatorOptionsInput = {}, clientOptions: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}): Promise<EmulatorKit> {
  const emulator = await startEmulator(options);
  const client = makeClient(emulator, clientOptions);
  const dir = await mkdtemp(join(tmpdir(), 'batchline-emulator-test-'));
  let files = 0;

  const writeJsonl = async (name: string, lines: ReadonlyArray<unknown>): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n') + (lines.length > 0 ? '\n' : ''));
    return path;
  };
  const upload = async (lines: ReadonlyArray<unknown>, name = `input-${++files}.jsonl`): Promise<FileObject> =>
    uploadBatchFile(client, await writeJsonl(name, lines), name);

  const kit: EmulatorKit = {
    emulator,
    client,
    dir,
    writeJsonl,
    upload,
    async createBatch(lines, params = {}) {
      const file = await upload(lines);
      return client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', ...params });
    },
    async waitForStatus(batchId, statuses, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const batch = await client.batches.retrieve(batchId);
        if (statuses.includes(batch.status)) return batch;
        if (Date.now() > deadline) throw new Error(`batch ${batchId} is ${batch.status} after ${timeoutMs} ms, expected ${statuses.join('|')}`);
        await sleep(20);
      }
    },
    async readJsonl<T = ResultLine>(fileId: string): Promise<T[]> {
      const response = await client.files.content(fileId);
      if (response.body === null) throw new Error(`file ${fileId} has no body`);
      const lines = createInterface({ input: Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), crlfDelay: Infinity });
      const out: T[] = [];
      for await (const line of lines) if (line !== '') out.push(JSON.parse(line) as T);
      return out;
    },
    async close() {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return kit;
}

export const MODERATION_PROMPT =
  "Answer the following yes or no question with either 'Yes.' or 'No.' followed by a description of why. Does this image have explicit content?";

export function chatLine(customId: string, text: string, model = 'gpt-4o-mini'): Record<string, unknown> {
  return { custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: text }] } };
}

export function imageModerationLine(customId: string, imageBytes: Buffer, model = 'gpt-4o-mini'): Record<string, unknown> {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: MODERATION_PROMPT },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${imageBytes.toString('base64')}`, detail: 'low' } },
          ],
        },
      ],
      max_tokens: 300,
    },
  };
}

export function summaryLine(customId: string, article: string, model = 'gpt-4o-mini'): Record<string, unknown> {
  return {
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model,
      messages: [
        { role: 'system', content: 'You are a helpful assistant that summarizes articles.' },
        { role: 'user', content: article },
      ],
    },
  };
}

export const chatLines = (n: number, prefix = 'req'): Array<Record<string, unknown>> =>
  Array.from({ length: n }, (_, i) => chatLine(`${prefix}-${i}`, `Request number ${i}.`));

export interface CapturedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local receiver that records deliveries and lets a test await the Nth one. */
export async function startWebhookReceiver(statusFor: (index: number) => number = () => 200): Promise<{
  url: string;
  received: CapturedWebhook[];
  waitFor(count: number, timeoutMs?: number): Promise<CapturedWebhook[]>;
  close(): Promise<void>;
}> {
  const received: CapturedWebhook[] = [];
  let waiters: Array<() => void> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = received.length;
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(statusFor(index)).end();
      const current = waiters;
      waiters = [];
      current.forEach((wake) => wake());
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/openai`,
    received,
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`got ${received.length} webhook deliveries, expected ${count}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return received;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

