import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { appendFileSync, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { nodeHttpFetch } from '../../src/lib/node-http-fetch.js';
import { uploadBatchFile } from '../../src/lib/upload-batch-file.js';
import { makeClient, startKit, type EmulatorKit } from './emulator-test-kit.js';

/** Peak RSS growth (MB) over a baseline while `work` runs, sampled every 5 ms. */
async function peakGrowthMb(work: () => Promise<void>): Promise<number> {
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, process.memoryUsage.rss()) - baseline) / 1e6;
}

async function writeBigJsonl(path: string, megabytes: number): Promise<number> {
  const handle = await open(path, 'w');
  const text = 'lorem ipsum '.repeat(250);
  let bytes = 0;
  let i = 0;
  const chunk: string[] = [];
  while (bytes < megabytes * 1e6) {
    const line = `{"custom_id":"r${i++}","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"${text}"}]}}\n`;
    chunk.push(line);
    bytes += line.length;
    if (chunk.length === 1000) await handle.write(chunk.splice(0).join(''));
  }
  await handle.write(chunk.join(''));
  await handle.close();
  return bytes;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('nodeHttpFetch and uploadBatchFile with the SDK', () => {
  let kit: EmulatorKit;
  let bigPath: string;
  before(async () => {
    kit = await startKit();
    bigPath = join(kit.dir, 'big.jsonl');
    await writeBigJsonl(bigPath, 96);
  });
  after(async () => {
    await kit.close();
  });

  it('uploads and downloads a 96 MB file with memory that stays flat', async () => {
    let fileId = '';
    const uploadGrowth = await peakGrowthMb(async () => {
      fileId = (await uploadBatchFile(kit.client, bigPath, 'big.jsonl')).id;
    });
    let downloaded = 0;
    const hash = createHash('sha256');
    const downloadGrowth = await peakGrowthMb(async () => {
      const response = await kit.client.files.content(fileId);
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        downloaded += chunk.byteLength;
        hash.update(chunk);
      }
    });
    assert.equal(hash.digest('hex'), await sha256OfFile(bigPath), 'the bytes made the round trip intact');
    assert.ok(downloaded > 96e6);
    // The emulator runs in this process too, so this bounds both sides; a buffering client would grow by ~96 MB.
    assert.ok(uploadGrowth < 64, `upload grew RSS by ${uploadGrowth.toFixed(1)} MB`);
    assert.ok(downloadGrowth < 64, `download grew RSS by ${downloadGrowth.toFixed(1)} MB`);
  });

  it('uploads several files at once, each arriving intact although their chunks share reused memory', async () => {
    // Each file is many chunks (256 KB each), more than are ever kept spare, so chunks given back by one upload serve the others.
    const paths = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (name, index) => {
        const path = join(kit.dir, `together-${name}.jsonl`);
        await writeBigJsonl(path, 6 + index);
        return path;
      }),
    );
    const files = await Promise.all(paths.map((path, index) => uploadBatchFile(kit.client, path, `together-${index}.jsonl`)));
    for (const [index, file] of files.entries()) {
      const response = await kit.client.files.content(file.id);
      const received = createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex');
      assert.equal(received, await sha256OfFile(paths[index] as string), `file ${index} arrived intact`);
    }
  });

  it('a retried upload sends the whole file again from the start (a fresh stream per attempt)', async () => {
    kit.emulator.faults.operations = ['createFile'];
    kit.emulator.faults.serverErrorNext = 1;
    try {
      const path = await kit.writeJsonl('retry.jsonl', Array.from({ length: 2000 }, (_, i) => ({ custom_id: `c${i}`, n: i })));
      const file = await uploadBatchFile(kit.client, path, 'retry.jsonl');
      assert.equal(kit.emulator.faults.serverErrorNext, 0, 'the first attempt got the 500');
      const response = await kit.client.files.content(file.id);
      assert.equal(createHash('sha256').update(Buffer.from(await response.arrayBuffer())).digest('hex'), await sha256OfFile(path));
    } finally {
      kit.emulator.faults.operations = null;
    }
  });

  it('fails an upload whose file changes during the attempt instead of sending a mix', async () => {
    // Grown once the multipart header is sent (before the file is opened), and once its first chunks are.
    for (const afterBytes of [0, 300 * 1024]) {
      const path = join(kit.dir, `changing-${afterBytes}.jsonl`);
      await writeBigJsonl(path, 2);
      let appended = false;
      const onProgress = (sent: number): void => {
        if (appended || sent <= afterBytes) return;
        appended = true;
        appendFileSync(path, '{"custom_id":"late"}\n');
      };
      const before = (await kit.client.files.list()).data.length;
      await assert.rejects(uploadBatchFile(kit.client, path, 'changing.jsonl', { maxRetries: 0, onProgress }), OpenAI.APIConnectionError, `grown after ${afterBytes} bytes`);
      assert.ok(appended);
      assert.equal((await kit.client.files.list()).data.length, before, 'no file was stored');
    }
  });

  it('gives up an upload when the retries run out, with the SDK error', async () => {
    kit.emulator.faults.serverErrorNext = 1;
    const path = await kit.writeJsonl('fail.jsonl', [{ a: 1 }]);
    await assert.rejects(uploadBatchFile(kit.client, path, 'fail.jsonl', { maxRetries: 0 }), OpenAI.InternalServerError);
    await assert.rejects(uploadBatchFile(kit.client, path, 'fail.txt'), /\.jsonl/);
  });

  it('aborts a request when the signal fires', async () => {
    kit.emulator.faults.latencyMs = 2000;
    try {
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(makeClient(kit.emulator).files.list({}, { signal: controller.signal }), OpenAI.APIUserAbortError);
      assert.ok(Date.now() - started < 1500);
    } finally {
      kit.emulator.faults.latencyMs = 0;
    }
  });

  it('reports a refused connection as a connection error', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: 'http://127.0.0.1:9/v1', fetch: nodeHttpFetch, maxRetries: 0 });
    await assert.rejects(client.files.list(), OpenAI.APIConnectionError);
  });
});

describe('nodeHttpFetch as a fetch', () => {
  let server: ReturnType<typeof createServer>;
  let base = '';
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  before(async () => {
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() });
        if (request.url === '/gzip') response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }).end(gzipSync('unzipped'));
        else if (request.url === '/see-other') response.writeHead(303, { location: '/echo' }).end();
        else if (request.url === '/temporary') response.writeHead(307, { location: '/echo' }).end();
        else if (request.url === '/empty') response.writeHead(204).end();
        else response.writeHead(200, { 'content-type': 'text/plain', 'x-multi': 'a' }).end(`${request.method} ${Buffer.concat(chunks).toString()}`);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });

  it('sends strings, buffers, URLSearchParams and FormData with a content-length', async () => {
    assert.equal(await (await nodeHttpFetch(`${base}/echo`, { method: 'POST', body: 'text' })).text(), 'POST text');
    assert.equal(seen.at(-1)?.headers['content-type'], 'text/plain;charset=UTF-8');
    assert.equal(await (await nodeHttpFetch(`${base}/echo`, { method: 'POST', body: new Uint8Array([104, 105]) })).text(), 'POST hi');
    await nodeHttpFetch(`${base}/echo`, { method: 'POST', body: new URLSearchParams({ a: '1' }) });
    assert.equal(seen.at(-1)?.body, 'a=1');
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new File(['{"a":1}\n'], 'x.jsonl', { type: 'application/jsonl' }));
    await nodeHttpFetch(`${base}/echo`, { method: 'POST', body: form });
    const last = seen.at(-1);
    assert.match(String(last?.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.equal(Number(last?.headers['content-length']), Buffer.byteLength(last?.body ?? ''));
    assert.match(last?.body ?? '', /name="file"; filename="x.jsonl"\r\nContent-Type: application\/jsonl\r\n\r\n\{"a":1\}\n\r\n/);
    // The same FormData, read back by the platform's own parser.
    const parsed = await new Response(last?.body, { headers: { 'content-type': String(last?.headers['content-type']) } }).formData();
    assert.equal(parsed.get('purpose'), 'batch');
  });

  it('decodes gzip, follows redirects like fetch, and gives no body for 204', async () => {
    assert.equal(await (await nodeHttpFetch(`${base}/gzip`)).text(), 'unzipped');
    const seeOther = await nodeHttpFetch(`${base}/see-other`, { method: 'POST', body: 'x' });
    assert.equal(await seeOther.text(), 'GET ');
    assert.equal(seeOther.url, `${base}/echo`);
    assert.equal(await (await nodeHttpFetch(`${base}/temporary`, { method: 'POST', body: 'again' })).text(), 'POST again');
    const manual = await nodeHttpFetch(`${base}/see-other`, { redirect: 'manual' });
    assert.equal(manual.status, 303);
    const empty = await nodeHttpFetch(`${base}/empty`, { method: 'DELETE' });
    assert.equal(empty.status, 204);
    assert.equal(empty.body, null);
  });

  it('leaves non-HTTP URLs to the built-in fetch', async () => {
    assert.equal(await (await nodeHttpFetch('data:,hello')).text(), 'hello');
  });
});
