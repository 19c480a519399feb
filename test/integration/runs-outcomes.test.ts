import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';

interface ResultLineShape {
  custom_id: string;
  item: Record<string, unknown> | null;
  status_code: number | null;
  output: { text: string | null } | null;
  response: unknown;
  error: { code: string; message: string } | null;
}

const chatRequests = (count: number, prefix = 'r') =>
  Array.from({ length: count }, (_, index) => ({
    custom_id: `${prefix}${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Question ${index}. Answer briefly.` }] },
  }));

describe('runs end honestly whatever their batches do', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(async () => {
    await t.close();
  });

  const post = (body: unknown): Promise<RunView> => t.postRun(body);
  const results = (runId: string): Promise<ResultLineShape[]> => t.results(runId) as Promise<ResultLineShape[]>;

  it('transient request failures are resubmitted until they succeed', async () => {
    // Lines 2 and 3 fail with server_error in every generation's file: 5 requests → 3 answered, then 2 → 1, then 1 → 1.
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(5, 'g'), metadata: { emulator_fail_lines: '2,3', emulator_error_shape: 'error' } });
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.deepEqual(batches.map((batch) => batch.requestCounts.total), [5, 2, 1]);
    // The run shows its latest batch and, beside it, the ones its retries came from.
    assert.equal(ended.batches.length, 1);
    assert.equal(ended.batches[0]?.generation, 2);
    assert.equal(ended.batches[0]?.batch_id, batches[2]?.id);
    assert.deepEqual(ended.batches[0]?.previous_batch_ids, [batches[0]?.id, batches[1]?.id]);
    assert.equal(t.emulator.ledger.duplicates(['batchline_run', 'batchline_shard', 'batchline_generation']).length, 0);
    const lines = await results(run.id);
    assert.equal(lines.length, 5);
    assert.ok(lines.every((line) => line.status_code === 200));
  });

  it('permanent request failures are reported, not retried', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(5, 'h'), metadata: { emulator_fail_lines: '1', emulator_error_shape: 'response', emulator_error_status: '400' } });
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'partial');
    assert.equal(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }).length, 1);
    const failed = (await results(run.id)).filter((line) => line.error !== null);
    assert.deepEqual(failed.map((line) => [line.custom_id, line.status_code]), [['h0', 400]]);
  });

  it('expired batches keep what finished, resubmit the rest, and report what never finished as batch_expired', async () => {
    t.emulator.faults.expireAtFraction = 0.6;
    try {
      const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(50, 'e') });
      const ended = await t.waitForRunEnd(run.id);
      assert.equal(ended.batches[0]?.status, 'expired');
      assert.equal(ended.status, 'partial');
      // Every generation expires at 60 %: 50 → 30 answered, 20 resubmitted → 12 answered, 8 resubmitted → 4 or 5 answered.
      const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
      assert.deepEqual(batches.map((batch) => batch.metadata?.['batchline_generation']), ['0', '1', '2']);
      assert.deepEqual(batches.map((batch) => batch.requestCounts.total), [50, 20, 8]);
      const lines = await results(run.id);
      assert.equal(lines.length, 50);
      assert.equal(new Set(lines.map((line) => line.custom_id)).size, 50);
      const expired = lines.filter((line) => line.error?.code === 'batch_expired');
      const answered = lines.filter((line) => line.status_code === 200);
      assert.equal(answered.length + expired.length, 50);
      assert.ok(answered.length >= 46, `${answered.length} answered after three generations`);
      assert.equal(ended.counts.succeeded, answered.length);
    } finally {
      t.emulator.faults.expireAtFraction = null;
    }
  });

  it('a batch that fails validation rejects the named lines and resubmits the rest once', async () => {
    // Lines 5 and 6 are rejected; generation 1 holds the four others (so no line 5 or 6 any more) and succeeds.
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(6, 'v'), metadata: { emulator_invalid_lines: '5,6' } });
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'partial');
    assert.deepEqual(ended.counts, { items: 6, requests: 6, succeeded: 4, failed: 2 });
    const lines = await results(run.id);
    const rejected = lines.filter((line) => line.error !== null).map((line) => [line.custom_id, line.error?.code]);
    assert.deepEqual(rejected.sort(), [['v4', 'invalid_request'], ['v5', 'invalid_request']]);
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.deepEqual(batches.map((batch) => [batch.status, batch.requestCounts.total]), [['failed', 0], ['completed', 4]].map(([status, total]) => [status, total === 0 ? batches[0]?.requestCounts.total : total]));
  });

  it('a batch failing validation again after its one resubmission ends the shard without a third try', async () => {
    // Line 2 exists in every generation, so the resubmitted batch fails validation too.
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(4, 'w'), metadata: { emulator_invalid_lines: '2' } });
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }).length, 2);
    assert.equal(ended.status, 'failed');
    const lines = await results(run.id);
    assert.equal(lines.length, 4);
    assert.ok(lines.every((line) => line.error !== null));
  });

  it('a run with no successful request fails and says why', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(5, 'f'), metadata: { emulator_error_rate: '1' } });
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'failed');
    assert.match(ended.error ?? '', /no request succeeded/);
    assert.equal((await results(run.id)).length, 5);
  });

  it('cancel stops a running batch and keeps its partial results', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(10, 'c'), metadata: { emulator_in_progress_ms: '600000', emulator_cancelling_ms: '200' } });
    // Wait until the batch exists at OpenAI, then cancel.
    const created = await new Promise<RunView>((resolve, reject) => {
      const check = async (): Promise<void> => {
        const current = (await t.request('GET', `/v1/runs/${run.id}`)).body as RunView;
        if (current.batches[0]?.batch_id) resolve(current);
        else setTimeout(() => void check().catch(reject), 50);
      };
      void check().catch(reject);
    });
    assert.equal(created.status, 'waiting');
    const cancelled = await t.request('POST', `/v1/runs/${run.id}/cancel`);
    assert.equal(cancelled.status, 202, cancelled.text);
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.batches[0]?.status, 'cancelled');
    const lines = await results(run.id);
    assert.equal(lines.length, 10);
    assert.ok(lines.every((line) => line.status_code === 200 || line.error?.code === 'batch_cancelled'), JSON.stringify(lines.map((l) => l.error)));
    const again = await t.request('POST', `/v1/runs/${run.id}/cancel`);
    assert.equal(again.status, 409);
  });

  it('the poll job re-runs as a delayed job without consuming attempts', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(3, 'p'), metadata: { emulator_in_progress_ms: '1500' } });
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'succeeded');
    const batchId = ended.batches[0]?.batch_id ?? '';
    const job = await t.service.deps.queues.poll.getJob(`poll-${run.id}-s0-g0-${batchId}`);
    assert.ok(job !== undefined, 'the poll job is kept after completion');
    assert.ok((job.data as { checks: number }).checks >= 3, `checked ${(job.data as { checks: number }).checks} times`);
    // Only the final, successful run counts as an attempt; the delayed re-checks before it did not.
    assert.equal(job.attemptsMade, 1);
    assert.equal(await job.getState(), 'completed');
  });

  it('unknown runs are 404 and results of an unfinished run are 409', async () => {
    assert.equal((await t.request('GET', '/v1/runs/run_doesnotexist')).status, 404);
    assert.equal((await t.request('GET', '/v1/runs/not-a-run')).status, 400);
    assert.equal((await t.request('POST', '/v1/runs/run_doesnotexist/cancel')).status, 404);
    const run = await post({ endpoint: '/v1/chat/completions', requests: chatRequests(1, 'u'), metadata: { emulator_in_progress_ms: '600000' } });
    const early = await t.request('GET', `/v1/runs/${run.id}/results`);
    assert.equal(early.status, 409);
    assert.equal((early.body as { error: { code: string } }).error.code, 'results_not_ready');
    await t.request('POST', `/v1/runs/${run.id}/cancel`);
    await t.waitForRunEnd(run.id);
  });
});

describe('with one attempt per request', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ tuning: { maxAttemptsPerRequest: 1 } });
  });
  after(async () => {
    await t.close();
  });

  it('failed request lines of both shapes make the run partial, with one line per request', async () => {
    const posted = await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: chatRequests(40), metadata: { emulator_error_rate: '0.3' } });
    const run = posted.body as RunView;
    const results = (runId: string): Promise<ResultLineShape[]> => t.results(runId) as Promise<ResultLineShape[]>;
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'partial');
    assert.ok(ended.counts.failed > 0 && ended.counts.succeeded > 0, JSON.stringify(ended.counts));
    assert.equal(ended.counts.failed + ended.counts.succeeded, 40);
    const lines = await results(run.id);
    assert.equal(lines.length, 40);
    assert.equal(new Set(lines.map((line) => line.custom_id)).size, 40);
    const httpErrors = lines.filter((line) => line.error !== null && line.status_code !== null && line.status_code >= 400);
    const nullResponses = lines.filter((line) => line.error !== null && line.status_code === null);
    assert.ok(httpErrors.length > 0, 'a line with a 4xx/5xx response');
    assert.ok(nullResponses.length > 0, 'a line with response null and error set');
    assert.equal(httpErrors.length + nullResponses.length, ended.counts.failed);
    const message = await t.slack.waitFor((text) => text.includes(run.id));
    assert.match(message, /partial/);
    assert.match(message, /Failures by code: /);
  });

});
