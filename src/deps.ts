import { rmSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import type { Config } from './config.js';
import { requireOpenAIKey } from './config.js';
import type { Logger } from './lib/logger.js';
import { nodeHttpFetch } from './lib/node-http-fetch.js';
import { ServiceMetrics } from './metrics/service-metrics.js';
import { SlackNotifier } from './notify/slack-notifier.js';
import { producerRedisOptions } from './queues/redis-connection.js';
import { RedisOutageLog } from './queues/redis-outage-log.js';
import { closeStageQueues, createStageQueues, type StageQueues } from './queues/stage-queues.js';
import { createOutputJoinThreads, type OutputJoinThreads } from './runs/output-join-threads.js';
import { RunLedger } from './runs/run-ledger.js';
import { TokenBudget } from './runs/token-budget.js';
import { createStorage } from './storage/create-storage.js';
import { createS3Client } from './storage/s3-client.js';
import type { ObjectStorage } from './storage/object-storage.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { defaultTuning, tuningFromConfig, type Tuning } from './tuning.js';

/** Every client the stages and routes use, built once per process and closed once. */
export interface Deps {
  config: Config;
  logger: Logger;
  /** Commands for the ledger and the API; fails fast when Redis is gone (no offline queue). */
  redis: Redis;
  /** Where every client of the process reports a lost connection, so an outage is logged once, not per retry. */
  redisOutages: RedisOutageLog;
  queues: StageQueues;
  ledger: RunLedger;
  tokenBudget: TokenBudget;
  storage: ObjectStorage;
  s3: () => S3Client;
  openai: OpenAI;
  slack: SlackNotifier;
  tuning: Tuning;
  /** Counts of what the stages did, kept in Redis so /metrics on any API process covers every worker. */
  metrics: ServiceMetrics;
  /** A local folder for shard files on their way to storage and OpenAI. */
  workDir: string;
  /** Where results joins parse and encode output files (threads start on a join's first need). */
  outputJoinThreads: OutputJoinThreads;
  close(): Promise<void>;
}

export interface DepsOverrides {
  tuning?: Partial<Tuning>;
  workDir?: string;
}

export async function createDeps(config: Config, logger: Logger, overrides: DepsOverrides = {}): Promise<Deps> {
  // Refuse before opening any connection, so a refused start leaves nothing running.
  const apiKey = requireOpenAIKey(config);
  const redis = new Redis({ ...producerRedisOptions(config.REDIS_URL), lazyConnect: true });
  const redisOutages = new RedisOutageLog(logger);
  redis.on('error', (error: Error) => {
    if (!redisOutages.report(error, 'service')) logger.warn({ err: error.message }, 'redis connection error');
  });
  // This client reconnects on its own after an outage; its being ready again ends the outage (as any reporting client's does).
  redis.on('ready', () => redisOutages.connected());
  await redis.connect().catch((error: unknown) => logger.warn({ err: String(error) }, 'redis not reachable yet'));
  // The queues share the API's fail-fast client: adding a job never waits on reconnects, and closing
  // them never hangs on a QUIT that a reconnecting client cannot send.
  const queues = createStageQueues(redis, config.BATCHLINE_PREFIX);
  // Without a listener BullMQ prints each connection error raw to stderr, once per queue; the outage log counts it instead.
  for (const queue of Object.values(queues)) {
    redisOutages.watch(queue, `queue:${queue.name}`, (error) => logger.warn({ queue: queue.name, err: error.message }, 'queue error'));
  }
  // Environment-set timings sit between the defaults and a caller's own overrides (tests, the demo).
  const tuning = { ...defaultTuning, ...tuningFromConfig(config), ...overrides.tuning };
  let s3Client: S3Client | undefined;
  const s3 = (): S3Client => (s3Client ??= createS3Client({ endpoint: config.AWS_ENDPOINT_URL_S3, region: config.AWS_REGION }));
  const openai = new OpenAI({
    apiKey,
    baseURL: config.OPENAI_BASE_URL,
    organization: config.OPENAI_ORG_ID ?? null,
    project: config.OPENAI_PROJECT_ID ?? null,
    timeout: tuning.openaiTimeoutMs,
    fetch: nodeHttpFetch,
  });
  // The default folder is this process's own and goes at close (SIGKILL aside); a folder the caller names is the caller's to keep.
  const ownsWorkDir = overrides.workDir === undefined;
  const workDir = overrides.workDir ?? path.join(tmpdir(), `batchline-work-${process.pid}`);
  await mkdir(workDir, { recursive: true });
  // Also on a forced exit (a second Ctrl-C), which skips close().
  if (ownsWorkDir) process.once('exit', () => rmSync(workDir, { recursive: true, force: true }));
  const outputJoinThreads = createOutputJoinThreads(tuning.joinThreads, logger);
  return {
    config,
    logger,
    redis,
    redisOutages,
    queues,
    ledger: new RunLedger(redis, config.BATCHLINE_PREFIX),
    tokenBudget: new TokenBudget(redis, config.BATCHLINE_PREFIX),
    storage: createStorage(config.STORAGE_URL, s3),
    s3,
    openai,
    slack: new SlackNotifier(config.SLACK_WEBHOOK_URL, logger),
    tuning,
    metrics: new ServiceMetrics(redis, config.BATCHLINE_PREFIX, logger),
    workDir,
    outputJoinThreads,
    async close() {
      await closeStageQueues(queues);
      await outputJoinThreads.close();
      redis.disconnect();
      s3Client?.destroy();
      if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
    },
  };
}

