import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { JobType } from 'bullmq';
import type { EmulatorOptionsInput } from '../../src/emulator/emulator-options.js';
import { QUEUE_NAMES } from '../../src/queues/queue-names.js';
import { FINAL_RUN_STATUSES, type RunStatus } from '../../src/runs/run-record.js';
import { toRunView, type RunView } from '../../src/runs/run-view.js';
import { startRedis, type TestRedis } from './redis-server.js';
import { startTestService, type TestService } from './test-service.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/** Job states that will still run by themselves: a run with any of these left is not done. */
export const LIVE_JOB_STATES: JobType[] = ['active', 'waiting', 'delayed', 'prioritized', 'waiting-children'];

export interface FaultHarness {
  redis: TestRedis;
  /** The API in this process (no workers): posts runs and serves results; its ledger is read to follow runs. */
  t: TestService;
  /** The environment of every worker process, before a scenario's own additions. */
  workerEnv: Record<string, string>;
  /** Starts `batchline worker` as a child process; every one is killed at close. */
  spawnWorker(extra?: Record<string, string>): WorkerProcess;
  /** Resolves once the worker process says its workers are running (its startup log line). */
  waitUntilReady(worker: WorkerProcess, timeoutMs?: number): Promise<void>;
  /** A fresh folder for crash markers, removed at close. */
  markerDir(): Promise<string>;
  postRun(body: unknown): Promise<RunView>;
  runView(runId: string): Promise<RunView | null>;
  /**
   * Resolves once the run is final and none of its jobs is left to run:
   * what "recovered" means here. Polls the ledger and the queues (the
   * workers are other processes), so it also rides through a Redis outage.
   */
  waitForSettled(runId: string, timeoutMs: number): Promise<RunView>;
  /** Where the run is, as a comparable string: its status and each shard's generation and step. */
  progressMark(runId: string): Promise<string>;
  /** Resolves with the time at which the run's progress mark first differs from `mark` (the next step taken). */
  waitForProgress(runId: string, mark: string, timeoutMs: number): Promise<number>;
  /** Worker output so far, for failure messages. */
  workerOutput(): string;
  /**
   * Kills every worker still running: between scenarios, so a scenario that
   * failed half-way cannot leave a worker behind to take the next one's jobs.
   */
  killWorkers(): Promise<void>;
  close(): Promise<void>;
}

export interface FaultHarnessOptions {
  /** Redis with AOF, for scenarios that kill Redis itself. */
  appendonly?: boolean;
  emulator?: EmulatorOptionsInput;
  workerEnv?: Record<string, string>;
}

/**
 * A Redis, the emulator, a Slack capture and the API in this process, plus
 * fast-timed worker processes started on demand: the stage for killing
 * workers (or Redis) at will.
 */
export async function startFaultHarness(options: FaultHarnessOptions = {}): Promise<FaultHarness> {
  const redis = await startRedis({ appendonly: options.appendonly === true });
  const t = await startTestService({ role: 'api', redis, emulator: options.emulator ?? {} });
  const scratch = await mkdtemp(path.join(tmpdir(), 'batchline-faults-'));
  const workers: WorkerProcess[] = [];
  let markers = 0;
  const workerEnv: Record<string, string> = {
    REDIS_URL: redis.url,
    BATCHLINE_PREFIX: t.prefix,
    BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1',
    STORAGE_URL: t.env['STORAGE_URL'] ?? '',
    OPENAI_BASE_URL: t.emulator.baseURL,
    OPENAI_API_KEY: 'sk-emulator',
    SLACK_WEBHOOK_URL: t.slack.url,
    // info: the startup line tells when a worker is up; stage logs are a few lines per shard.
    LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'info',
    // A dead worker's jobs are taken over within about two seconds.
    BATCHLINE_JOB_LOCK_MS: '1000',
    BATCHLINE_SHUTDOWN_GRACE_MS: '1000',
    BATCHLINE_POLL_INITIAL_MS: '100',
    BATCHLINE_POLL_MAX_MS: '400',
    BATCHLINE_SWEEP_INTERVAL_MS: '1000',
    ...options.workerEnv,
  };

  const runView = async (runId: string): Promise<RunView | null> => {
    const run = await t.service.deps.ledger.getRun(runId);
    return run === null ? null : toRunView(run, await t.service.deps.ledger.getShards(runId));
  };

  const progressMark = async (runId: string): Promise<string> => {
    const view = await runView(runId);
    const shards = await t.service.deps.ledger.getShards(runId);
    return `${view?.status ?? 'none'} ${shards.map((shard) => `${shard.shard}/${shard.generation}/${shard.step}`).join(' ')}`;
  };

  const liveJobsOf = async (runId: string): Promise<string[]> => {
    const live: string[] = [];
    for (const name of QUEUE_NAMES) {
      for (const job of await t.service.deps.queues[name].getJobs(LIVE_JOB_STATES, 0, -1)) {
        if (job?.id?.includes(runId) === true) live.push(job.id);
      }
    }
    return live;
  };

  return {
    redis,
    t,
    workerEnv,
    spawnWorker(extra = {}) {
      const worker = spawnWorker({ ...workerEnv, ...extra });
      workers.push(worker);
      return worker;
    },
    async waitUntilReady(worker, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!worker.output().includes('batchline workers started')) {
        if (worker.child.exitCode !== null || worker.child.signalCode !== null) throw new Error(`the worker exited before it was ready:\n${worker.output()}`);
        if (Date.now() > deadline) throw new Error(`the worker was not ready within ${timeoutMs} ms:\n${worker.output()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async markerDir() {
      markers += 1;
      const dir = path.join(scratch, `markers-${markers}`);
      await mkdir(dir, { recursive: true });
      return dir;
    },
    async postRun(body) {
      const response = await t.request('POST', '/v1/runs', body);
      if (response.status !== 202) throw new Error(`POST /v1/runs answered ${response.status}: ${response.text}`);
      return response.body as RunView;
    },
    runView,
    async waitForSettled(runId, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let last: RunView | null = null;
      let live: string[] = [];
      for (;;) {
        try {
          last = await runView(runId);
          if (last !== null && FINAL_RUN_STATUSES.includes(last.status as RunStatus)) {
            live = await liveJobsOf(runId);
            if (live.length === 0) return last;
          }
        } catch {
          // Redis is away (a scenario killed it): keep waiting until the deadline.
        }
        if (Date.now() > deadline) {
          throw new Error(
            `run ${runId} did not settle within ${timeoutMs} ms: ${JSON.stringify(last)}; live jobs: ${live.join(', ')}\nworker output:\n${workers.map((worker) => worker.output()).join('\n---\n').slice(-6000)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    progressMark: (runId) => progressMark(runId),
    async waitForProgress(runId, mark, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await progressMark(runId).catch(() => mark);
        if (now !== mark) return Date.now();
        if (Date.now() > deadline) throw new Error(`run ${runId} made no progress within ${timeoutMs} ms from ${mark}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    workerOutput: () => workers.map((worker) => worker.output()).join('\n---\n'),
    async killWorkers() {
      await Promise.all(workers.map((worker) => worker.kill()));
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.kill()));
      // Killed workers never remove their scratch folders (deps.workDir).
      await Promise.all(workers.map((worker) => rm(path.join(tmpdir(), `batchline-work-${worker.child.pid ?? 0}`), { recursive: true, force: true })));
      await t.close();
      await redis.stop();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
