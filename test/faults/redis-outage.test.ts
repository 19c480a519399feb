import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { QUEUE_NAMES } from '../../src/queues/queue-names.js';
import { sweepLedger } from '../../src/runs/ledger-sweeper.js';
import { startFaultHarness, type FaultHarness } from '../helpers/fault-harness.js';
import { assertFaultOracles } from '../helpers/fault-oracles.js';
import { reportRecovery } from '../helpers/recovery-report.js';

const requestsOf = (tag: string, count: number) =>
  Array.from({ length: count }, (_, index) => ({
    custom_id: `${tag}-${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Outage question ${tag} ${index}.` }] },
  }));
const idsOf = (tag: string, count: number): string[] => requestsOf(tag, count).map((request) => request.custom_id);

/**
 * Redis down: the API refuses new runs at once (503, never a hang) and
 * leaves nothing behind that could start later; a run already in flight
 * and the workers carry on when Redis returns.
 */
describe('Redis stopped during a run', () => {
  let h: FaultHarness;

  before(async () => {
    h = await startFaultHarness({ appendonly: true, emulator: { validatingMs: 100, inProgressMs: 2_500, finalizingMs: 100 } });
  });
  after(async () => {
    await h?.close();
  });

  /** Runs with any stored object (a refused POST whose input was written and then deleted leaves at most an empty folder behind). */
  const runsInStorage = async (): Promise<string[]> => {
    const runs = new Set<string>();
    for await (const object of h.t.service.deps.storage.list('runs/')) runs.add(object.key.split('/')[1] ?? '');
    return [...runs].sort();
  };
  const jobIdsOfAllQueues = async (): Promise<string[]> => {
    const ids: string[] = [];
    for (const name of QUEUE_NAMES) for (const job of await h.t.service.deps.queues[name].getJobs([], 0, -1)) if (job?.id !== undefined) ids.push(job.id);
    return ids.sort();
  };

  it('answers 503 within a second, creates nothing, and the workers resume when Redis returns', async () => {
    const worker = h.spawnWorker();
    await h.waitUntilReady(worker);
    const inFlight = await h.postRun({ endpoint: '/v1/chat/completions', requests: requestsOf('flight', 20) });
    // Wait until its batch is at OpenAI: the outage then falls in the middle of its life.
    const deadline = Date.now() + 30_000;
    while ((await h.runView(inFlight.id))?.status !== 'waiting') {
      assert.ok(Date.now() < deadline, 'the run reached waiting');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const batchIds = (await h.t.service.deps.ledger.getShards(inFlight.id)).map((shard) => shard.batch_id);
    const runsBefore = await h.t.service.deps.ledger.listRunIds({ count: 100 });
    const storedBefore = await runsInStorage();
    const jobsBefore = await jobIdsOfAllQueues();

    await h.redis.kill();
    const refusalMs: number[] = [];
    for (const [label, send] of [
      ['JSON', () => h.t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: requestsOf('refused', 3) })],
      [
        'NDJSON',
        () =>
          h.t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', requestsOf('refused-nd', 3).map((line) => JSON.stringify(line)).join('\n'), {
            'content-type': 'application/x-ndjson',
          }),
      ],
    ] as const) {
      const started = Date.now();
      const response = await send();
      const elapsed = Date.now() - started;
      assert.equal(response.status, 503, `${label}: ${response.text}`);
      assert.equal((response.body as { error: { code: string } }).error.code, 'unavailable');
      assert.ok(elapsed < 1_000, `${label} answered in ${elapsed} ms`);
      refusalMs.push(elapsed);
    }

    // Down until the in-flight batch has finished at OpenAI meanwhile: the workers find it done when they reconnect.
    const openai = new OpenAI({ apiKey: 'sk-emulator', baseURL: h.t.emulator.baseURL });
    for (const batchId of batchIds) {
      assert.ok(batchId !== null, 'the waiting shard has its batch');
      while ((await openai.batches.retrieve(batchId)).status !== 'completed') {
        assert.ok(Date.now() < deadline + 60_000, `batch ${batchId} completed at the emulator`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    await h.redis.restart();
    const restartedAt = Date.now();

    // The API takes runs again as soon as its connection is back.
    let accepted: { status: number; body: unknown; text: string } | null = null;
    while (accepted === null || accepted.status !== 202) {
      assert.ok(Date.now() - restartedAt < 30_000, `the API accepts runs again: ${accepted?.text ?? ''}`);
      accepted = await h.t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: requestsOf('after', 5) });
      if (accepted.status !== 202) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const apiBackMs = Date.now() - restartedAt;
    const later = accepted.body as { id: string };

    const ended = await h.waitForSettled(inFlight.id, 60_000);
    const inFlightRecoveryMs = Date.now() - restartedAt;
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    await assertFaultOracles(h.t, { runId: inFlight.id, customIds: idsOf('flight', 20) });
    const laterEnded = await h.waitForSettled(later.id, 60_000);
    assert.equal(laterEnded.status, 'succeeded');
    await assertFaultOracles(h.t, { runId: later.id, customIds: idsOf('after', 5) });

    // Nothing of the refused requests appeared, even after the workers and a sweep pass (which re-drives whatever the ledger holds) had their chance.
    let sweep = await sweepLedger(h.t.service.deps, 10_000);
    // A worker's own pass holds the sweeper lock while it runs: ours follows it.
    while (!sweep.swept) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      sweep = await sweepLedger(h.t.service.deps, 10_000);
    }
    assert.deepEqual(sweep.redriven, []);
    assert.deepEqual(await h.t.service.deps.ledger.listRunIds({ count: 100 }), [later.id, ...runsBefore]);
    assert.deepEqual(await runsInStorage(), [...storedBefore, later.id].sort());
    assert.deepEqual((await jobIdsOfAllQueues()).filter((id) => !jobsBefore.includes(id) && !id.includes(inFlight.id) && !id.includes(later.id)), []);

    reportRecovery('Redis down until the batch finished: API accepting runs again', apiBackMs, `restart to the first 202; POSTs during the outage answered 503 in ${refusalMs.join(' and ')} ms and left nothing`);
    reportRecovery('Redis down until the batch finished: in-flight run settled after the restart', inFlightRecoveryMs, 'restart to settled; its batch had finished at OpenAI during the outage');
    await worker.stop();
  });
});
