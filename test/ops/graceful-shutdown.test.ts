import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import type { RunView } from '../../src/runs/run-view.js';
import { freePort } from '../helpers/redis-server.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECRET = `whsec_${Buffer.from('graceful-shutdown-webhook-secret!').toString('base64')}`;
const TOKEN = 'shutdown-token';

/** A `batchline worker` process: the real CLI, its real signal handling. */
interface WorkerProcess {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then the exit code and how long the exit took. */
  terminate(): Promise<{ code: number | null; elapsedMs: number }>;
}

/** Records a queue's events from the moment it starts, so a wait never misses one that came early. */
class QueueEventLog {
  private readonly seen: Array<{ event: string; jobId: string }> = [];
  private readonly waiters = new Set<{ test: (event: string, jobId: string) => boolean; resolve: () => void }>();

  constructor(readonly events: QueueEvents) {
    for (const event of ['active', 'completed', 'failed', 'delayed', 'waiting'] as const) {
      events.on(event, ({ jobId }: { jobId: string }) => {
        this.seen.push({ event, jobId });
        for (const waiter of this.waiters) {
          if (!waiter.test(event, jobId)) continue;
          this.waiters.delete(waiter);
          waiter.resolve();
        }
      });
    }
  }

  waitFor(event: string, jobId: string): Promise<void> {
    if (this.seen.some((entry) => entry.event === event && entry.jobId === jobId)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add({ test: (seenEvent, seenId) => seenEvent === event && seenId === jobId, resolve }));
  }
}

describe('SIGTERM mid-run: a worker process finishes or hands back its jobs, and nothing is lost', () => {
  let t: TestService;
  let submitEvents: QueueEventLog;
  let notifyEvents: QueueEventLog;
  let childTmp: string;
  const started: WorkerProcess[] = [];

  const startWorker = (graceMs: number): WorkerProcess => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/batchline.js'), 'worker'], {
      cwd: ROOT,
      env: { ...process.env, ...t.env, LOG_LEVEL: 'info', BATCHLINE_SHUTDOWN_GRACE_MS: String(graceMs), TMPDIR: childTmp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logs: Array<Record<string, unknown>> = [];
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // 'close', not 'exit': only then has every log line the process wrote been read.
    const exited = once(child, 'close').then(([code, signal]) => {
      if (code !== 0) process.stderr.write(`worker ${child.pid} exited ${String(code)} ${String(signal)}:\n${stderr}\n`);
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
    const handle: WorkerProcess = {
      child,
      logs,
      exited,
      async terminate() {
        const at = Date.now();
        child.kill('SIGTERM');
        const { code } = await exited;
        return { code, elapsedMs: Date.now() - at };
      },
    };
    started.push(handle);
    return handle;
  };

  const postRun = async (items: number): Promise<RunView> => {
    const posted = await t.request(
      'POST',
      '/v1/runs',
      { template: { type: 'summarize' }, items: Array.from({ length: items }, (_, i) => ({ id: `a${i}`, text: `Article ${i}. It says something.` })) },
      { authorization: `Bearer ${TOKEN}` },
    );
    assert.equal(posted.status, 202, posted.text);
    return posted.body as RunView;
  };

  /** Every request has its result line, and the run made exactly one batch per shard. */
  const assertNothingLost = async (run: RunView, items: number): Promise<void> => {
    // Whichever process runs the notify job, its completion ends the run.
    await notifyEvents.waitFor('completed', `notify-${run.id}`);
    const view = await t.request('GET', `/v1/runs/${run.id}`, undefined, { authorization: `Bearer ${TOKEN}` });
    const ended = view.body as RunView;
    assert.equal(ended.status, 'succeeded', `${JSON.stringify(ended)}\nworker logs: ${started.map((worker) => JSON.stringify(worker.logs)).join('\n')}`);
    const results = await t.request('GET', `/v1/runs/${run.id}/results`, undefined, { authorization: `Bearer ${TOKEN}` });
    const lines = results.text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { custom_id: string; status_code: number });
    assert.deepEqual(lines.map((line) => line.custom_id).sort(), Array.from({ length: items }, (_, i) => `a${i}`).sort());
    assert.ok(lines.every((line) => line.status_code === 200));
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.equal(batches.length, ended.batches.length, `batches made for ${run.id}: ${batches.map((batch) => batch.id).join(', ')}`);
    assert.deepEqual(t.emulator.ledger.duplicates(['batchline_run', 'batchline_shard']), []);
  };

  before(async () => {
    const port = await freePort();
    childTmp = await mkdtemp(path.join(tmpdir(), 'batchline-shutdown-'));
    t = await startTestService({
      // The API in this process (with a notify worker, which the harness insists on); the stage
      // workers are child processes. The webhook stands in for the quick polling the children
      // (with production timings) do not have.
      workerOptions: { queues: ['notify'] },
      env: { API_TOKENS: TOKEN, OPENAI_WEBHOOK_SECRET: SECRET, PORT: String(port) },
      emulator: { inProgressMs: 500, webhook: { url: `http://127.0.0.1:${port}/v1/webhooks/openai`, secret: SECRET } },
    });
    submitEvents = new QueueEventLog(new QueueEvents('submit', { connection: { url: t.redis.url }, prefix: t.prefix }));
    notifyEvents = new QueueEventLog(new QueueEvents('notify', { connection: { url: t.redis.url }, prefix: t.prefix }));
    await submitEvents.events.waitUntilReady();
    await notifyEvents.events.waitUntilReady();
  });
  after(async () => {
    for (const worker of started) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    }
    await submitEvents.events.close();
    await notifyEvents.events.close();
    await t.close();
    await rm(childTmp, { recursive: true, force: true });
  });

  it('a job running at SIGTERM finishes within the grace period, then the process exits 0', async (context) => {
    // Uploads take 1.5 s, so the submit job is certainly running when the signal comes.
    t.emulator.faults.latencyMs = 1500;
    t.emulator.faults.operations = ['createFile'];
    const worker = startWorker(20_000);
    const run = await postRun(3);
    const submitId = `submit-${run.id}-s0-g0`;
    await submitEvents.waitFor('active', submitId);

    const { code, elapsedMs } = await worker.terminate();
    assert.equal(code, 0);
    assert.ok(elapsedMs < 20_000, `exit took ${elapsedMs} ms`);
    context.diagnostic(`SIGTERM to exit, finishing a 1.5 s upload: ${elapsedMs} ms`);
    const job = await t.service.deps.queues.submit.getJob(submitId);
    assert.equal(await job?.getState(), 'completed', 'the running job finished before the exit');
    const shard = await t.service.deps.ledger.getShard(run.id, 0);
    assert.equal(shard?.step === 'created' || shard?.step === 'terminal' || shard?.step === 'stored', true, `shard is ${shard?.step}`);
    assert.ok(worker.logs.some((record) => record['msg'] === 'shutting down'));
    assert.ok(worker.logs.some((record) => record['msg'] === 'stopped'));
    assert.ok(!worker.logs.some((record) => record['msg'] === 'job handed back to its queue at shutdown'));

    // A new worker takes the run from there.
    t.emulator.faults.latencyMs = 0;
    const next = startWorker(20_000);
    await assertNothingLost(run, 3);
    assert.equal((await next.terminate()).code, 0);
  });

  it('a job still running when the grace period ends is handed back at once and done by the next worker', async (context) => {
    // The upload now outlasts the grace period by far.
    t.emulator.faults.latencyMs = 5000;
    t.emulator.faults.operations = ['createFile'];
    const worker = startWorker(300);
    const run = await postRun(4);
    const submitId = `submit-${run.id}-s0-g0`;
    await submitEvents.waitFor('active', submitId);

    const { code, elapsedMs } = await worker.terminate();
    assert.equal(code, 0);
    assert.ok(elapsedMs < 4000, `exit took ${elapsedMs} ms: it waited for the upload instead of handing the job back`);
    context.diagnostic(`SIGTERM to exit, handing back a job after a 300 ms grace period: ${elapsedMs} ms`);
    assert.ok(worker.logs.some((record) => record['msg'] === 'job handed back to its queue at shutdown' && record['job_id'] === submitId), JSON.stringify(worker.logs));
    const job = await t.service.deps.queues.submit.getJob(submitId);
    const state = await job?.getState();
    const logs = JSON.stringify(worker.logs);
    assert.equal(state, 'waiting', `back in its queue, not left locked until it counts as stalled; worker logs: ${logs}`);
    assert.equal(job?.attemptsMade, 0, `no attempt spent (failed: ${job?.failedReason}); worker logs: ${logs}`);

    t.emulator.faults.latencyMs = 0;
    const next = startWorker(20_000);
    await assertNothingLost(run, 4);
    assert.equal((await next.terminate()).code, 0);
  });
});
