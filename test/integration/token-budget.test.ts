import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';

const requests = (count: number) =>
  Array.from({ length: count }, (_, index) => ({
    custom_id: `t${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'tl-model', messages: [{ role: 'user', content: `Token budget request number ${index} with some words to count. `.repeat(4) } ] },
  }));

describe('the enqueued-token limit', () => {
  let t: TestService;
  before(async () => {
    // Two shards of 10 requests; the model's limit has room for one shard's batch at a time.
    t = await startTestService({ tuning: { shardMaxRequests: 10 }, emulator: { inProgressMs: 400, faults: { tokenBudgetPerModel: { 'tl-model': 900 } } } });
  });
  after(async () => {
    await t.close();
  });

  it('a batch over the limit waits and is resubmitted, and later shards wait for room instead of failing', async () => {
    const posted = await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: requests(20) });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.equal(run.counts.succeeded, 20);
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.deepEqual(t.emulator.ledger.duplicates(['batchline_run', 'batchline_shard', 'batchline_generation']), []);
    const failedForTokens = batches.filter((batch) => batch.status === 'failed');
    assert.ok(failedForTokens.length >= 1, 'the second shard overlapped the first and went over the limit');
    assert.ok(failedForTokens.every((batch) => batch.errors?.data?.[0]?.code === 'token_limit_exceeded'));
    assert.equal(batches.filter((batch) => batch.status === 'completed').length, 2);
    // The limit was learned from the failure message.
    assert.equal(await t.service.deps.tokenBudget.limitOf('tl-model'), 900);

    // A second run now waits for headroom up front: no batch of it fails.
    const second = await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: requests(20) });
    const secondRun = await t.waitForRunEnd((second.body as RunView).id);
    assert.equal(secondRun.status, 'succeeded');
    const secondBatches = t.emulator.ledger.batches({ metadata: { batchline_run: secondRun.id } });
    assert.deepEqual(secondBatches.map((batch) => batch.status), ['completed', 'completed']);
  });
});
