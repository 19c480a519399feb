/**
 * The results join a user might write instead of batchline: download the
 * whole output file as text, split and parse every line, load the whole
 * manifest, join in memory and write one string. Run by results.bench.ts in
 * its own process; prints "ready", then "done <ms>" when finished.
 */
import { readFile, writeFile } from 'node:fs/promises';
import OpenAI from 'openai';

const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: process.env['OPENAI_BASE_URL'], maxRetries: 0 });
process.stdout.write('ready\n');
const started = performance.now();
const text = await (await client.files.content(process.env['BENCH_OUTPUT_FILE_ID'] ?? '')).text();
const outputs = text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { custom_id: string; response: unknown });
const manifest = (await readFile(process.env['BENCH_MANIFEST'] ?? '', 'utf8'))
  .split('\n')
  .filter((line) => line !== '')
  .map((line) => JSON.parse(line) as { custom_id: string; item: unknown });
const items = new Map(manifest.map((entry) => [entry.custom_id, entry.item]));
const joined = outputs.map((output) => JSON.stringify({ custom_id: output.custom_id, item: items.get(output.custom_id) ?? null, response: output.response }));
await writeFile(process.env['BENCH_RESULTS_PATH'] ?? '', `${joined.join('\n')}\n`);
process.stdout.write(`done ${(performance.now() - started).toFixed(0)}\n`);
// Hold on until the parent has read the peak RSS.
setTimeout(() => process.exit(0), 2_000);
