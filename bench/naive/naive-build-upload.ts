/**
 * The build + upload a user might write instead of batchline: read every
 * image into memory, build every request line as a string, join each shard
 * into one string and upload it with toFile through the SDK's default fetch.
 * Run by build-upload.bench.ts in its own process; prints "ready", then
 * "done <ms>" (or dies trying: that is part of the figure).
 * BENCH_IMAGES_DIR: the images; BENCH_COUNT: how many.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

const dir = process.env['BENCH_IMAGES_DIR'] ?? '';
const count = Number(process.env['BENCH_COUNT'] ?? '0');
const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: process.env['OPENAI_BASE_URL'], maxRetries: 0, timeout: 600_000 });
process.stdout.write('ready\n');
const started = performance.now();
const names = Array.from({ length: count }, (_, i) => `img-${String(i).padStart(6, '0')}.png`);
const images = await Promise.all(names.map((name) => readFile(join(dir, name))));
const lines = images.map((bytes, i) =>
  JSON.stringify({
    custom_id: `img-${i}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: [{ type: 'text', text: 'Is this image safe?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${bytes.toString('base64')}`, detail: 'low' } }] }] },
  }),
);
const shards: string[][] = [[]];
let bytes = 0;
for (const line of lines) {
  if (bytes + line.length > 199 * 1024 * 1024 || (shards.at(-1)?.length ?? 0) >= 50_000) {
    shards.push([]);
    bytes = 0;
  }
  shards.at(-1)?.push(line);
  bytes += line.length + 1;
}
for (const [index, shard] of shards.entries()) {
  await client.files.create({ file: await toFile(Buffer.from(`${shard.join('\n')}\n`), `shard-${index}.jsonl`), purpose: 'batch' });
}
process.stdout.write(`done ${(performance.now() - started).toFixed(0)}\n`);
setTimeout(() => process.exit(0), 2_000);
