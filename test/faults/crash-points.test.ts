import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { startFaultHarness, type FaultHarness } from '../helpers/fault-harness.js';
import { assertFaultOracles } from '../helpers/fault-oracles.js';
import { reportRecovery } from '../helpers/recovery-report.js';
import { storageKeys } from '../../src/runs/storage-keys.js';

/** 300 requests in three shards of 100: a crash in one shard's stage leaves the others mid-flight too. */
const REQUESTS = 300;
const customIds = (runTag: string): string[] => Array.from({ length: REQUESTS }, (_, index) => `${runTag}-${index}`);
/** `padding` characters more per question come back in its echoed answer: 24,000 make each shard's output file several blocks, joined on threads. */
const runBody = (runTag: string, padding = 0) => ({
  endpoint: '/v1/chat/completions',
  requests: customIds(runTag).map((customId) => ({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Crash test question ${customId}.${' padding'.repeat(padding / 8)}` }] },
  })),
});

const withDeadline = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref())]);

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/**
 * A worker process killed with SIGKILL at each named point of each stage
 * (BATCHLINE_CRASH_AT), then a fresh worker started: the run ends as if
 * nothing happened — one batch per shard, every request once in the
 * results, one Slack post (none when the kill came after the claim).
 */
describe('a worker killed at each named point of each stage', () => {
  let h: FaultHarness;
  let baselineMs = 0;

  before(async () => {
    h = await startFaultHarness({
      emulator: { validatingMs: 100, inProgressMs: 600, finalizingMs: 100 },
      workerEnv: { BATCHLINE_SHARD_MAX_REQUESTS: '100' },
    });
  });
  afterEach(async () => {
    await h?.killWorkers();
  });
  after(async () => {
    await h?.close();
  });

  it('without a fault, a run takes its baseline time', async () => {
    const worker = h.spawnWorker();
    const started = Date.now();
    const run = await h.postRun(runBody('base'));
    const ended = await h.waitForSettled(run.id, 60_000);
    baselineMs = Date.now() - started;
    assert.equal(ended.status, 'succeeded');
    await assertFaultOracles(h.t, { runId: run.id, customIds: customIds('base') });
    reportRecovery('baseline (no fault, post to settled, worker already up)', baselineMs);
    await worker.stop();
  });

  const scenarios: Array<{ point: string; expectSlack: 'one' | 'lost'; padding?: number }> = [
    { point: 'submit:after-upload', expectSlack: 'one' },
    { point: 'submit:inside-creating', expectSlack: 'one' },
    { point: 'submit:after-create', expectSlack: 'one' },
    // 40 lines into a 100-line output file.
    { point: 'results:mid-download#40', expectSlack: 'one' },
    // 150 lines into the join, with output files of several blocks on the join threads.
    { point: 'results:mid-download#150', expectSlack: 'one', padding: 24_000 },
    { point: 'results:after-result-write', expectSlack: 'one' },
    { point: 'notify:after-slack-claim', expectSlack: 'lost' },
  ];

  for (const { point, expectSlack, padding = 0 } of scenarios) {
    it(`killed at ${point}: the restarted worker finishes the run and the oracles hold`, async () => {
      const tag = point.replace(/[^a-z0-9]+/g, '-');
      const crashEnv = { BATCHLINE_CRASH_AT: point, BATCHLINE_CRASH_MARKER_DIR: await h.markerDir() };
      const first = h.spawnWorker(crashEnv);
      const run = await h.postRun(runBody(tag, padding));
      const exit = await withDeadline(first.exited, 60_000, `the crash at ${point}`);
      const killedAt = Date.now();
      assert.equal(exit.signal, 'SIGKILL', `killed by its crash point:\n${first.output()}`);
      assert.match(first.output(), new RegExp(`crash point ${point} reached`));

      // Results written but not recorded: keep their bytes to compare with the rewrite.
      const resultsBefore = new Map<number, string>();
      if (point === 'results:after-result-write') {
        for (const shard of await h.t.service.deps.ledger.getShards(run.id)) {
          if (shard.step !== 'terminal') continue;
          const file = fileURLToPath(h.t.service.deps.storage.urlOf(storageKeys.shardResults(run.id, shard.shard, shard.generation)));
          const bytes = await readFile(file).catch(() => null);
          if (bytes !== null) resultsBefore.set(shard.shard, sha256(bytes));
        }
        assert.ok(resultsBefore.size >= 1, 'a shard has its results written and its ledger step still terminal');
      }
      const statusAtKill = (await h.runView(run.id))?.status ?? 'unknown';
      const markAtKill = await h.progressMark(run.id);

      // Same environment: the marker makes the restarted worker run through the point.
      const second = h.spawnWorker(crashEnv);
      // Never final at the kill: the status lands after the Slack post, so even a kill after the claim leaves a step (settling) to take.
      assert.notEqual(statusAtKill, 'succeeded', 'the run reads final only once its notify stage is done');
      const progressed = h.waitForProgress(run.id, markAtKill, 60_000);
      const ended = await h.waitForSettled(run.id, 60_000);
      const recoveryMs = Date.now() - killedAt;
      const progressMs = (await progressed) - killedAt;
      assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
      assert.equal(ended.counts.succeeded, REQUESTS);
      const findings = await assertFaultOracles(h.t, { runId: run.id, customIds: customIds(tag), slackMayBeLost: expectSlack === 'lost' });
      assert.equal(findings.batches, 3);
      if (expectSlack === 'lost') assert.equal(findings.slackPosts, 0, 'the claim stands: the post is lost, never repeated');
      for (const [shard, digest] of resultsBefore) {
        const file = fileURLToPath(h.t.service.deps.storage.urlOf(storageKeys.shardResults(run.id, shard, 0)));
        assert.equal(sha256(await readFile(file)), digest, `shard ${shard}'s results rewritten with the same bytes`);
      }
      const progressNote = `; ledger moved again after ${(progressMs / 1000).toFixed(2)} s`;
      reportRecovery(`worker SIGKILL at ${point}`, recoveryMs, `kill to settled, incl. worker start; run was ${statusAtKill}${progressNote}`);
      await second.stop();
    });
  }
});
