import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/lib/logger.js';
import { startService, type Role, type RunningService } from '../../src/server.js';
import { quickTuning, type Tuning } from '../../src/tuning.js';
import { startEmulator } from '../../src/emulator/start-emulator.js';
import type { EmulatorOptionsInput } from '../../src/emulator/emulator-options.js';
import type { RunView } from '../../src/runs/run-view.js';
import type { ResultLine } from '../../src/runs/result-line.js';
import { FINAL_RUN_STATUSES, type RunStatus } from '../../src/runs/run-record.js';
import { startRedis, type TestRedis } from './redis-server.js';
import { startSlackCapture, type CapturedSlack } from './slack-capture.js';
import type { WorkerOptions } from '../../src/workers.js';

type RunningEmulator = Awaited<ReturnType<typeof startEmulator>>;

export interface TestService {
  redis: TestRedis;
  emulator: RunningEmulator;
  slack: CapturedSlack;
  service: RunningService;
  storageDir: string;
  prefix: string;
  env: Record<string, string>;
  /** JSON request against the API (in-process, no socket). */
  request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: unknown; text: string }>;
  /** POST /v1/runs, which must be accepted (202); returns the run. */
  postRun(body: unknown): Promise<RunView>;
  /** GET /v1/runs/:id/results, which must answer 200; returns the parsed lines. */
  results(runId: string): Promise<ResultLine[]>;
  /** Resolves when the run's notify job has completed (its final status is set), then returns the run. */
  waitForRunEnd(runId: string, timeoutMs?: number): Promise<RunView>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  emulator?: EmulatorOptionsInput;
  tuning?: Partial<Tuning>;
  env?: Record<string, string>;
  role?: Role;
  redis?: TestRedis;
  workerOptions?: WorkerOptions;
}

/**
 * The whole service in this process against a real Redis (its own, unless
 * given one), the emulator and a Slack capture, isolated by a random key
 * prefix and a temporary storage folder.
 */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const redis = options.redis ?? (await startRedis());
  const emulator = await startEmulator(options.emulator ?? {});
  const slack = await startSlackCapture();
  const storageDir = await mkdtemp(path.join(tmpdir(), 'batchline-test-'));
  // A test restarting the service on one Redis passes the first one's prefix back in env.
  const prefix = options.env?.['BATCHLINE_PREFIX'] ?? `t${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    OPENAI_BASE_URL: emulator.baseURL,
    OPENAI_API_KEY: 'sk-emulator',
    STORAGE_URL: `file://${storageDir}/data`,
    SLACK_WEBHOOK_URL: slack.url,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    BATCHLINE_PREFIX: prefix,
    ...options.env,
  };
  const config = loadConfig(env);
  const service = await startService({
    role: options.role ?? 'all',
    config,
    logger: createLogger(config.LOG_LEVEL, { pretty: false }),
    overrides: { tuning: { ...quickTuning, ...options.tuning }, workDir: path.join(storageDir, 'work') },
    workerOptions: options.workerOptions,
  });
  // The in-process notify worker says when a run ends (no extra Redis connection, so a test that
  // restarts Redis has nothing left blocked on the old one).
  // An API-only service (role 'api') has none: it may still be started, only waitForRunEnd refuses.
  const notifyWorker = service.workers?.workers.find((worker) => worker.name === 'notify');
  const runEnded = new EventEmitter();
  notifyWorker?.on('completed', (job) => runEnded.emit('ended', job.id));

  const handle: TestService = {
    redis,
    emulator,
    slack,
    service,
    storageDir,
    prefix,
    env,
    async request(method, url, body, headers = {}) {
      if (service.app === null) throw new Error('this test service has no API');
      const response = await service.app.inject({
        method,
        url,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(response.body);
      } catch {
        parsed = null;
      }
      return { status: response.statusCode, body: parsed, text: response.body };
    },
    async postRun(body) {
      const response = await handle.request('POST', '/v1/runs', body);
      if (response.status !== 202) throw new Error(`POST /v1/runs answered ${response.status}: ${response.text}`);
      return response.body as RunView;
    },
    async results(runId) {
      const response = await handle.request('GET', `/v1/runs/${runId}/results`);
      if (response.status !== 200) throw new Error(`GET results answered ${response.status}: ${response.text}`);
      return response.text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as ResultLine);
    },
    async waitForRunEnd(runId, timeoutMs = 60_000) {
      if (notifyWorker === undefined) throw new Error('waitForRunEnd needs the notify worker in this process');
      const getRun = async (): Promise<RunView> => {
        const run = await service.deps.ledger.getRun(runId);
        if (run === null) throw new Error(`no run ${runId}`);
        const { toRunView } = await import('../../src/runs/run-view.js');
        return toRunView(run, await service.deps.ledger.getShards(runId));
      };
      const ended = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          runEnded.off('ended', listener);
          void getRun().then((run) => reject(new Error(`run ${runId} did not end within ${timeoutMs} ms; it is ${run.status}: ${JSON.stringify(run)}`)), reject);
        }, timeoutMs);
        const listener = (jobId: string | undefined) => {
          if (jobId !== `notify-${runId}`) return;
          clearTimeout(timer);
          runEnded.off('ended', listener);
          resolve();
        };
        runEnded.on('ended', listener);
        // The run may have ended before we started listening.
        void getRun().then((run) => {
          if (FINAL_RUN_STATUSES.includes(run.status as RunStatus)) {
            clearTimeout(timer);
            runEnded.off('ended', listener);
            resolve();
          }
        });
      });
      await ended;
      return getRun();
    },
    async close() {
      await service.stop();
      await emulator.close();
      await slack.close();
      if (options.redis === undefined) await redis.stop();
      await rm(storageDir, { recursive: true, force: true });
    },
  };
  return handle;
}
