import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../../src/emulator/seeded-random.js';
import { FINAL_RUN_STATUSES, type RunStatus } from '../../src/runs/run-record.js';
import { startFaultHarness, type FaultHarness } from '../helpers/fault-harness.js';
import { assertFaultOracles } from '../helpers/fault-oracles.js';
import { reportRecovery } from '../helpers/recovery-report.js';
import type { WorkerProcess } from '../helpers/worker-process.js';

const REQUESTS = 5_000;
const SHARD_SIZE = 250;
const KILLS = 20;
/** FAULT_SEED replays a failing sequence of kills; otherwise each run of the suite tries a new one. */
const SEED = Number(process.env['FAULT_SEED'] ?? Date.now() % 1_000_000_007);

const customIds = Array.from({ length: REQUESTS }, (_, index) => `rk-${index}`);

/**
 * Two worker processes, one of them killed with SIGKILL at a random moment
 * twenty times over a 5,000-request run in twenty shards, each replaced at
 * once: jobs die in every stage, stall, and some stall often enough for
 * BullMQ to fail them — the sweeper re-drives those from the ledger.
 */
describe('workers killed at random moments during a run', () => {
  let h: FaultHarness;

  before(async () => {
    h = await startFaultHarness({
      emulator: {
        // Long enough for twenty kills of workers that each take seconds to start (tsx), as a real batch's hours are.
        validatingMs: 500,
        inProgressMs: 35_000,
        finalizingMs: 500,
        // Every OpenAI call slower: uploads, creates, status checks and downloads are wider windows for a kill to land in.
        faults: { latencyMs: 300 },
      },
      workerEnv: { BATCHLINE_SHARD_MAX_REQUESTS: String(SHARD_SIZE) },
    });
  });
  after(async () => {
    await h?.close();
  });

  it(`${KILLS} kills of one of two workers: the run succeeds and the oracles hold`, async () => {
    const random = seededRandom(SEED);
    const workers: WorkerProcess[] = [h.spawnWorker(), h.spawnWorker()];
    // When each worker came up: a kill is aimed at a worker that has been running for a random while, not at one still loading its code.
    const readyAt = new Map<WorkerProcess, number>();
    const track = (worker: WorkerProcess): void =>
      void h.waitUntilReady(worker, 60_000).then(
        () => void readyAt.set(worker, Date.now()),
        () => undefined,
      );
    // Posted while the workers start: the first kills land in the build and the submissions.
    workers.forEach(track);
    const run = await h.postRun({
      endpoint: '/v1/chat/completions',
      requests: customIds.map((customId) => ({
        custom_id: customId,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Hi ${customId}` }] },
      })),
    });

    const postedAt = Date.now();
    const statusesAtKill: string[] = [];
    for (let kill = 0; kill < KILLS; kill += 1) {
      const uptimeMs = 200 + Math.floor(random() * 1_300);
      const pick = random();
      let victim: WorkerProcess | undefined;
      while (victim === undefined) {
        const due = workers.filter((worker) => (readyAt.get(worker) ?? Infinity) + uptimeMs <= Date.now());
        victim = due[Math.floor(pick * due.length)];
        if (victim === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await victim.kill();
      readyAt.delete(victim);
      statusesAtKill.push((await h.runView(run.id))?.status ?? 'unknown');
      if (process.env['FAULT_TRACE'] === '1') process.stdout.write(`kill ${kill + 1} at ${Date.now() - postedAt} ms: ${await h.progressMark(run.id)}\n`);
      const replacement = h.spawnWorker();
      track(replacement);
      workers[workers.indexOf(victim)] = replacement;
    }
    const lastKillAt = Date.now();
    const ended = await h.waitForSettled(run.id, 120_000);
    const settledAt = Date.now();
    const recoveryMs = settledAt - lastKillAt;

    const during = statusesAtKill.filter((status) => !FINAL_RUN_STATUSES.includes(status as RunStatus));
    assert.equal(during.length, KILLS, `every kill landed while the run was in flight (seed ${SEED}): ${statusesAtKill.join(', ')}`);
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    assert.equal(ended.counts.succeeded, REQUESTS);
    const findings = await assertFaultOracles(h.t, {
      runId: run.id,
      customIds,
      // A job killed twice is failed by BullMQ as stalled; its step was either done by then or re-driven by the sweeper.
      allowFailed: (job) => /stalled/i.test(job.failedReason),
    });
    assert.equal(findings.batches, REQUESTS / SHARD_SIZE);

    const tally = new Map<string, number>();
    for (const status of statusesAtKill) tally.set(status, (tally.get(status) ?? 0) + 1);
    // The service's own share of the run: getting every batch created, and finishing after OpenAI did.
    const batches = h.t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    const lastCreatedMs = Math.max(...batches.map((batch) => batch.createdAtMs)) - postedAt;
    const lastDoneAtOpenAI = Math.max(...batches.map((batch) => batch.statusHistory.find((entry) => entry.status === 'completed')?.atMs ?? 0));
    reportRecovery(
      `${KILLS} random worker kills (two workers, 5,000 requests, 20 shards)`,
      settledAt - lastDoneAtOpenAI,
      `last batch completed at OpenAI to run settled; every batch created ${(lastCreatedMs / 1000).toFixed(2)} s after the post; ` +
        `last kill to settled ${(recoveryMs / 1000).toFixed(2)} s; seed ${SEED}; run status at each kill: ${[...tally].map(([status, count]) => `${status} ${count}`).join(', ')}; ` +
        `failed-as-stalled jobs left: ${findings.allowedFailedJobs.length}`,
    );
    if (process.env['FAULT_TRACE'] === '1') {
      // What the workers complained about, by message: the stalls, retries and re-drives the kills caused.
      const messages = new Map<string, number>();
      for (const line of h.workerOutput().split('\n')) {
        const match = /"level":(40|50|60).*"msg":"([^"]*)"/.exec(line);
        const why = /"(?:err|reason)":"([^"]{0,80})/.exec(line)?.[1] ?? '';
        if (match !== null) messages.set(`${match[1]} ${match[2]} ${why}`, (messages.get(`${match[1]} ${match[2]} ${why}`) ?? 0) + 1);
      }
      for (const [message, count] of messages) process.stdout.write(`worker log: ${count} × ${message}\n`);
    }
    await Promise.all(workers.map((worker) => worker.stop()));
  });
});
