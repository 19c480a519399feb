import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ShardStep } from '../../src/runs/run-record.js';
import { startFaultHarness, type FaultHarness } from '../helpers/fault-harness.js';
import { assertFaultOracles } from '../helpers/fault-oracles.js';
import { reportRecovery } from '../helpers/recovery-report.js';

const REQUESTS = 2_000;
const customIds = Array.from({ length: REQUESTS }, (_, index) => `rd-${index}`);
/** How long Redis stays dead each time. */
const DOWN_MS = 1_500;

/**
 * Redis itself killed with SIGKILL twice during a run — while shards are
 * being submitted, and while results are being joined — and restarted from
 * its append-only file. The workers ride through the outage and the run
 * ends as if nothing happened.
 */
describe('Redis killed and restarted with AOF during a run', () => {
  let h: FaultHarness;

  before(async () => {
    h = await startFaultHarness({
      appendonly: true,
      emulator: { validatingMs: 200, inProgressMs: 3_000, finalizingMs: 200, faults: { latencyMs: 100 } },
      workerEnv: { BATCHLINE_SHARD_MAX_REQUESTS: '500' },
    });
  });
  after(async () => {
    await h?.close();
  });

  /** Resolves once any shard of the run is at one of the steps (the ledger read may fail while Redis is away). */
  const anyShardAt = async (runId: string, steps: readonly ShardStep[], timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const shards = await h.t.service.deps.ledger.getShards(runId).catch(() => []);
      if (shards.some((shard) => steps.includes(shard.step))) return;
      if (Date.now() > deadline) throw new Error(`no shard of ${runId} reached ${steps.join('/')} within ${timeoutMs} ms\n${h.workerOutput().slice(-4000)}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  /** Kills Redis, keeps it down a moment, restarts it; returns when it is back and what the run looked like. */
  const outage = async (runId: string): Promise<{ restartedAt: number; mark: string }> => {
    const mark = await h.progressMark(runId);
    await h.redis.kill();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    await h.redis.restart();
    return { restartedAt: Date.now(), mark };
  };

  it('killed while submitting and again while joining results: the run succeeds and the oracles hold', async () => {
    const workers = [h.spawnWorker(), h.spawnWorker()];
    await Promise.all(workers.map((worker) => h.waitUntilReady(worker)));
    const run = await h.postRun({
      endpoint: '/v1/chat/completions',
      requests: customIds.map((customId) => ({
        custom_id: customId,
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Redis crash question ${customId}.` }] },
      })),
    });

    await anyShardAt(run.id, ['creating', 'created'], 30_000);
    const first = await outage(run.id);
    const firstProgressMs = (await h.waitForProgress(run.id, first.mark, 60_000)) - first.restartedAt;
    assert.ok(await h.t.service.deps.ledger.getRun(run.id), 'the run survived in the append-only file');

    await anyShardAt(run.id, ['terminal', 'stored'], 60_000);
    const second = await outage(run.id);
    const secondProgressMs = (await h.waitForProgress(run.id, second.mark, 60_000)) - second.restartedAt;

    const ended = await h.waitForSettled(run.id, 60_000);
    const settledMs = Date.now() - second.restartedAt;
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    assert.equal(ended.counts.succeeded, REQUESTS);
    await assertFaultOracles(h.t, {
      runId: run.id,
      customIds,
      // A job whose worker lost Redis mid-way may be failed as stalled once Redis is back; its step is redone or re-driven.
      allowFailed: (job) => /stalled/i.test(job.failedReason),
    });
    reportRecovery('Redis SIGKILL while submitting, restart from AOF', firstProgressMs, `restart to the ledger moving again; ${first.mark.split(' ')[0]} at the kill; down ${DOWN_MS} ms`);
    reportRecovery('Redis SIGKILL while joining results, restart from AOF', secondProgressMs, `restart to the ledger moving again; ${second.mark.split(' ')[0]} at the kill; settled ${(settledMs / 1000).toFixed(2)} s after the restart`);
    await Promise.all(workers.map((worker) => worker.stop()));
  });
});
