import type { FastifyInstance } from 'fastify';
import { loadConfig, requireOpenAIKey, type Config } from './config.js';
import { createDeps, type Deps, type DepsOverrides } from './deps.js';
import { createLogger, type Logger } from './lib/logger.js';
import { listenFailure } from './listen-failure.js';
import { applyPipelinesFile } from './pipelines/pipelines-file.js';
import { watchRedisConnection } from './queues/redis-connection-failure.js';
import { checkRedisRequirementsAt } from './queues/redis-requirements.js';
import { startLedgerSweeper, type LedgerSweeper } from './runs/ledger-sweeper.js';
import { startWorkers, type RunningWorkers, type WorkerOptions } from './workers.js';

export type Role = 'api' | 'worker' | 'all';

export interface RunningService {
  deps: Deps;
  app: FastifyInstance | null;
  workers: RunningWorkers | null;
  /** Re-drives ledger steps whose job was lost or failed; runs where the workers run. */
  sweeper: LedgerSweeper | null;
  /** Where the API listens, when this process serves it. */
  url: string | null;
  /** Graceful: stop taking HTTP requests, let running jobs finish or hand back, close queues and Redis. */
  stop(): Promise<void>;
}

export interface StartOptions {
  role: Role;
  config?: Config;
  logger?: Logger;
  overrides?: DepsOverrides;
  workerOptions?: WorkerOptions;
}

/** Process entry: config → Redis checks → deps → API and/or workers by role. */
export async function startService(options: StartOptions): Promise<RunningService> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  // Refusals that need no connection come first; then Redis is checked before any client of the
  // service exists, so BullMQ never warns in its own words about a Redis batchline refuses.
  requireOpenAIKey(config);
  await checkRedisRequirementsAt(config.REDIS_URL, { allowEphemeral: config.BATCHLINE_ALLOW_EPHEMERAL_REDIS, logger });
  const deps = await createDeps(config, logger, options.overrides);
  // From now on a lost connection is reported with its cause (/readyz), not as a closed stream.
  watchRedisConnection(deps.redis);
  let app: FastifyInstance | null = null;
  let workers: RunningWorkers | null = null;
  let sweeper: LedgerSweeper | null = null;
  let url: string | null = null;
  try {
    // The API roles apply the pipelines file (idempotent: a restart re-applies schedules in place, never twice).
    if (options.role !== 'worker' && config.PIPELINES_FILE !== undefined) await applyPipelinesFile(deps, config.PIPELINES_FILE);
    // The port is bound before any worker starts: a port in use or a bad HOST refuses the start
    // before a job is taken, rather than after.
    if (options.role !== 'worker') {
      if (config.API_TOKENS.length === 0) logger.warn('API_TOKENS is not set: the API and the board accept loopback callers only');
      // Loaded only by the roles that serve HTTP: a worker process is spared Fastify, its plugins
      // and Bull Board (about 7 MB of heap and 10 MB of RSS, and its start-up time).
      const { buildApp } = await import('./app.js');
      app = await buildApp(deps);
      try {
        url = await app.listen({ host: config.HOST, port: config.PORT });
      } catch (error) {
        throw listenFailure(error, config.HOST, config.PORT) ?? error;
      }
      logger.info({ url }, 'batchline API listening');
    }
    if (options.role !== 'api') {
      workers = startWorkers(deps, options.workerOptions);
      sweeper = startLedgerSweeper(deps);
      logger.info({ queues: workers.workers.map((worker) => worker.name), sweep_interval_ms: config.BATCHLINE_SWEEP_INTERVAL_MS }, 'batchline workers started');
    }
  } catch (error) {
    await sweeper?.stop();
    await app?.close();
    await workers?.close();
    await deps.close();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  return {
    deps,
    app,
    workers,
    sweeper,
    url,
    stop() {
      stopping ??= (async () => {
        // No re-drives once stopping; the API stops taking requests while the workers finish or hand back their jobs; Redis goes last.
        await sweeper?.stop();
        await Promise.all([app?.close(), workers?.close()]);
        await deps.close();
      })();
      return stopping;
    },
  };
}
