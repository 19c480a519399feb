/**
 * The waiting loop a user might write instead of batchline: every batch id
 * held in memory, each retrieved in turn, then a sleep, forever. Run by
 * waiting.bench.ts in its own process for a fixed time (BENCH_SECONDS).
 * Prints "ready" when it starts and "rounds N" when it stops.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';

const ids = (await readFile(process.env['BENCH_BATCH_IDS'] ?? '', 'utf8')).split('\n').filter((id) => id !== '');
const client = new OpenAI({ apiKey: 'sk-emulator', baseURL: process.env['OPENAI_BASE_URL'], maxRetries: 0 });
const stopAt = Date.now() + Number(process.env['BENCH_SECONDS'] ?? '60') * 1000;
const sleepMs = Number(process.env['BENCH_SLEEP_MS'] ?? '60000');
process.stdout.write('ready\n');
let rounds = 0;
while (Date.now() < stopAt) {
  for (const id of ids) {
    if (Date.now() >= stopAt) break;
    const batch = await client.batches.retrieve(id);
    if (batch.status === 'completed') process.stdout.write(`${id} done\n`);
  }
  rounds += 1;
  await sleep(Math.max(0, Math.min(sleepMs, stopAt - Date.now())));
}
process.stdout.write(`rounds ${rounds}\n`);
process.exit(0);
