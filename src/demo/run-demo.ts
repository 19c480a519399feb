import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blankAsUnset, loadConfig } from '../config.js';
import { startEmulator } from '../emulator/start-emulator.js';
import { createLogger } from '../lib/logger.js';
import { RedisNotInstalledError } from '../lib/redis-process.js';
import type { RunView } from '../runs/run-view.js';
import { FINAL_RUN_STATUSES, type RunStatus } from '../runs/run-record.js';
import { startService } from '../server.js';
import { quickTuning } from '../tuning.js';
import { demoRedis } from './demo-redis.js';
import { startLocalSlackReceiver } from './local-slack-receiver.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

/**
 * `batchline demo`: the whole pipeline on embedded defaults — a Redis (its
 * own when none answers), the OpenAI emulator with batches that take a few
 * seconds, local-folder storage, Slack printed — running the article
 * summarisation run and the image moderation pipeline over bundled samples.
 */
export async function runDemo(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write('Usage: batchline demo\n\nRuns the sample article summarisation and image moderation end to end on local defaults; exits 0 when both succeed.\n');
    return 0;
  }
  const say = (line: string) => process.stdout.write(`${line}\n`);
  // The settings the demo defaults itself, read as the service reads every setting: blank is unset.
  const env = blankAsUnset(process.env);
  let redis;
  try {
    redis = await demoRedis(env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  } catch (error) {
    if (error instanceof RedisNotInstalledError) {
      process.stderr.write(`batchline demo: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  say(redis.owned ? `Redis: started a private redis-server at ${redis.url}` : `Redis: using ${redis.url}`);
  const emulator = await startEmulator({ validatingMs: 500, inProgressMs: 2_000, finalizingMs: 500 });
  say(`OpenAI: the local emulator at ${emulator.baseURL} (batches take about 3 s)`);
  const slackMessages: string[] = [];
  const slack = await startLocalSlackReceiver((text) => {
    slackMessages.push(text);
    say(`\n--- Slack message ---\n${text}\n---------------------`);
  });
  // A fresh key prefix per demo, so a shared Redis never mixes demos and the pipeline sees its images as new.
  const prefix = `batchline-demo-${Date.now().toString(36)}`;
  const config = loadConfig({
    ...process.env,
    REDIS_URL: redis.url,
    OPENAI_BASE_URL: emulator.baseURL,
    OPENAI_API_KEY: 'sk-emulator',
    SLACK_WEBHOOK_URL: slack.url,
    STORAGE_URL: env['STORAGE_URL'] ?? 'file://./data',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: env['LOG_LEVEL'] ?? 'error',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    BATCHLINE_PREFIX: prefix,
    API_TOKENS: '',
    PIPELINES_FILE: '',
  });
  const service = await startService({ role: 'all', config, logger: createLogger(config.LOG_LEVEL), overrides: { tuning: quickTuning } });
  const api = service.url ?? '';
  say(`API: ${api} (Bull Board at ${api}/admin/queues, docs at ${api}/docs)\n`);

  // Ctrl-C or SIGTERM mid-demo still cleans up (its keys in a shared Redis, the emulator's and
  // Redis's folders); a second signal leaves at once.
  const interrupted = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130)).once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
  const demo = runBothPipelines(api, say, slackMessages);
  // Once interrupted, the demo's own calls fail as the service stops: nothing is waiting for them.
  demo.catch(() => undefined);
  try {
    const ended = await Promise.race([demo, interrupted]);
    if (typeof ended === 'number') return ended;
    say(`\nInterrupted (${ended}): stopping and cleaning up…`);
    return ended === 'SIGINT' ? 130 : 143;
  } finally {
    await service.stop();
    await dropPrefix(redis.url, prefix);
    await emulator.close();
    await slack.close();
    await redis.stop();
  }
}

/** Runs the article summarisation and the image moderation pipeline, printing as it goes; 0 when both succeed. */
async function runBothPipelines(api: string, say: (line: string) => void, slackMessages: readonly string[]): Promise<number> {
  const articles = await loadArticles();
  say(`1. Summarising ${articles.length} articles (POST /v1/runs, template "summarize")`);
  const summaryRun = await call<RunView>(api, 'POST', '/v1/runs', { template: { type: 'summarize' }, items: articles });
  const summaries = await waitForEnd(api, summaryRun.id, say);

  say(`\n2. Moderating the images in ${path.join(FIXTURES, 'images')} (pipeline "image-moderation", every 6h, triggered now)`);
  await call(api, 'PUT', '/v1/pipelines/image-moderation', {
    schedule: { every: '6h' },
    // The fixtures are whole files, but a fresh clone dates them seconds ago: no settle wait, or a quick `npm ci && npm run demo` would find nothing to collect.
    source: { type: 'local', path: path.join(FIXTURES, 'images'), settle_seconds: 0 },
    template: { type: 'image-moderation', model: 'gpt-4o-mini' },
  });
  await call(api, 'POST', '/v1/pipelines/image-moderation/trigger');
  const moderation = await waitForPipelineRun(api, 'image-moderation', say);

  say('\nSummaries (first three):');
  for (const line of (await results(api, summaries.id)).slice(0, 3)) say(`  ${describe(line.item)}: ${String(line.output?.['text'] ?? line.error?.message)}`);
  say('\nImages:');
  for (const line of await results(api, moderation.id)) {
    const flagged = line.output?.['flagged'];
    say(`  ${flagged === true ? 'FLAGGED' : flagged === false ? 'ok     ' : 'error  '} ${describe(line.item)}${flagged === true ? `: ${String(line.output?.['text'])}` : ''}`);
  }
  say(`\nResults are in ${summaries.results_url} and ${moderation.results_url}`);
  const ok = summaries.status === 'succeeded' && moderation.status === 'succeeded' && slackMessages.length >= 2;
  say(ok ? '\nDemo succeeded.' : `\nDemo did not succeed: summaries ${summaries.status}, moderation ${moderation.status}, ${slackMessages.length} Slack messages.`);
  return ok ? 0 : 1;
}

interface ResultLineView {
  custom_id: string;
  item: unknown;
  output: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

async function loadArticles(): Promise<Array<Record<string, unknown>>> {
  const dir = path.join(FIXTURES, 'articles');
  const names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  return Promise.all(names.map(async (name) => JSON.parse(await readFile(path.join(dir, name), 'utf8')) as Record<string, unknown>));
}

async function call<Body>(api: string, method: string, route: string, body?: unknown): Promise<Body> {
  const response = await fetch(`${api}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${text}`);
  return (text === '' ? null : JSON.parse(text)) as Body;
}

/** Follows a run through its statuses, printing each change, until it ends. */
async function waitForEnd(api: string, runId: string, say: (line: string) => void): Promise<RunView> {
  let last = '';
  for (;;) {
    const run = await call<RunView>(api, 'GET', `/v1/runs/${runId}`);
    if (run.status !== last) {
      say(`   ${run.id}: ${run.status}${run.batches.length > 0 ? ` (${run.batches.map((batch) => `${batch.batch_id ?? 'batch'} ${batch.status ?? ''}`.trim()).join(', ')})` : ''}`);
      last = run.status;
    }
    if (FINAL_RUN_STATUSES.includes(run.status as RunStatus)) return run;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function waitForPipelineRun(api: string, pipelineId: string, say: (line: string) => void): Promise<RunView> {
  for (;;) {
    const page = await call<{ data: RunView[] }>(api, 'GET', `/v1/runs?pipeline=${pipelineId}&limit=1`);
    const run = page.data[0];
    if (run !== undefined) return waitForEnd(api, run.id, say);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function results(api: string, runId: string): Promise<ResultLineView[]> {
  const response = await fetch(`${api}/v1/runs/${runId}/results`);
  return (await response.text())
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ResultLineView);
}

const describe = (item: unknown): string => {
  const record = item as { key?: unknown; id?: unknown } | null;
  return String(record?.key ?? record?.id ?? '?');
};

/** Removes the demo's keys from a Redis it did not start. */
async function dropPrefix(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
