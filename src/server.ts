import type { FastifyInstance } from 'fastify';
import { loadConfig, requireOpenAIKey, type Config } from './config.js';
import { createDeps, type Deps, type DepsOverrides } from './deps.js';
import { createLogger, type Logger } from './lib/logger.js';
import { testPausePoint } from './lib/test-pause-point.js';
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
  /**
   * For a stop that overran its bound: drops every connection still open
   * (no QUIT, no waiting) and returns the closing steps that had not finished.
   */
  forceStop(): string[];
}

/** The closing steps under way, by name, so a stop that overruns can say what did not close. */
class ClosingSteps {
  private readonly pending = new Set<string>();

  async run(name: string, step: () => Promise<unknown>): Promise<void> {
    this.pending.add(name);
    try {
      await step();
    } finally {
      this.pending.delete(name);
    }
  }

  unfinished(): string[] {
    return [...this.pending];
  }
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
  const closing = new ClosingSteps();
  const workerNames = workers?.workers.map((worker) => worker.name).join(', ') ?? '';
  return {
    deps,
    app,
    workers,
    sweeper,
    url,
    stop() {
      stopping ??= (async () => {
        // No re-drives once stopping; the API stops taking requests while the workers finish or hand back their jobs; Redis goes last.
        await closing.run('ledger sweeper', async () => sweeper?.stop());
        await Promise.all([
          closing.run('HTTP server', async () => app?.close()),
          closing.run(`workers (${workerNames})`, async () => workers?.close()),
        ]);
        await closing.run('queues and Redis connections', async () => {
          await testPausePoint(config.BATCHLINE_TEST_PAUSE_AT, 'shutdown:close-connections', logger);
          await deps.close();
        });
      })();
      return stopping;
    },
    forceStop() {
      const unfinished = closing.unfinished();
      // disconnect(), never quit(): a QUIT waits for a reply that a Redis gone away never sends.
      for (const worker of workers?.workers ?? []) void worker.disconnect().catch(() => undefined);
      deps.redis.disconnect();
      app?.server.closeAllConnections();
      return unfinished;
    },
  };
}
