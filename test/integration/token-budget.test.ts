import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';
import { jobIds } from '../../src/queues/job-ids.js';
import { promoteIfCancelled } from '../../src/runs/wake-for-cancel.js';
import { toFile } from 'openai';

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

const modelRequests = (model: string, count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) => ({
    custom_id: `${prefix}${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: `Request ${index} of a run that needs room under the token limit.` }] },
  }));

/** Other batches of the model hold all but 10 of its 1,000 tokens. */
async function fillBudget(t: TestService, model: string): Promise<void> {
  await t.service.deps.tokenBudget.learnLimit(model, 1_000);
  assert.deepEqual(await t.service.deps.tokenBudget.reserve(model, 'another-run:0', 990), { kind: 'reserved', alone: true });
}

describe('a shard the enqueued-token limit cannot take', () => {
  let t: TestService;
  before(async () => {
    // Waits as long as production's first one: a shard that waited instead of failing would outlast the test.
    t = await startTestService({ tuning: { tokenLimitWaitMs: 10 * 60_000, tokenLimitWaitCapMs: 60 * 60_000 }, emulator: { faults: { tokenBudgetPerModel: { 'tiny-model': 50 } } } });
  });
  after(async () => {
    await t.close();
  });

  it('fails at once, saying its tokens, the limit and the setting to lower, instead of waiting for room that never comes', async () => {
    const run = await t.postRun({ endpoint: '/v1/chat/completions', requests: modelRequests('tiny-model', 50, 'big') });
    const ended = await t.waitForRunEnd(run.id, 20_000);
    assert.equal(ended.status, 'failed', JSON.stringify(ended));
    assert.equal(ended.counts.failed, 50);
    assert.equal(ended.batches[0]?.token_limit_wait_since, null);
    // One batch tried while the limit was unknown; its failure taught the limit, and the shard was refused with it.
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.deepEqual(batches.map((batch) => batch.errors?.data?.[0]?.code), ['token_limit_exceeded']);
    assert.equal(await t.service.deps.tokenBudget.limitOf('tiny-model'), 50);
    const lines = await t.results(run.id);
    assert.equal(lines.length, 50);
    const shard = await t.service.deps.ledger.getShard(run.id, 0);
    const tokens = (shard?.estimated_tokens ?? 0).toLocaleString('en-US');
    for (const line of lines) {
      assert.equal(line.error?.code, 'shard_over_token_limit');
      assert.match(line.error?.message ?? '', new RegExp(`needs about ${tokens} enqueued tokens, more than tiny-model's enqueued-token limit of 50: OpenAI refused it with no other batch`));
      assert.match(line.error?.message ?? '', /lower BATCHLINE_SHARD_MAX_REQUESTS \(now 50,000 requests a shard\)/);
    }

    // The shard went round once more, at once, and was refused before anything was uploaded again.
    assert.equal(ended.batches[0]?.generation, 1);
    assert.equal(t.emulator.ledger.files().filter((file) => file.filename.includes(run.id)).length, 1);
  });
});

describe('a shard waiting for room under the enqueued-token limit', () => {
  let t: TestService;
  before(async () => {
    // Waits far longer than the test: only a cancel that wakes the waiting job can end the run in time.
    t = await startTestService({
      tuning: { tokenBudgetRecheckMs: 10 * 60_000, tokenLimitWaitMs: 10 * 60_000, shardMaxRequests: 10 },
      emulator: { inProgressMs: 400, faults: { tokenBudgetPerModel: { 'tl-model': 900 } } },
    });
  });
  after(async () => {
    await t.close();
  });

  const waitingSince = (runId: string): Promise<RunView> =>
    new Promise<RunView>((resolve, reject) => {
      const check = async (): Promise<void> => {
        const current = (await t.request('GET', `/v1/runs/${runId}`)).body as RunView;
        if (current.batches.some((batch) => batch.token_limit_wait_since !== null)) resolve(current);
        else setTimeout(() => void check().catch(reject), 50);
      };
      void check().catch(reject);
    });

  it('shows since when it waits, and a cancel settles it at once', async () => {
    await fillBudget(t, 'held-model');
    const before = Date.now();
    const run = await t.postRun({ endpoint: '/v1/chat/completions', requests: modelRequests('held-model', 5, 'w') });
    const waiting = await waitingSince(run.id);
    assert.equal(waiting.status, 'submitting');
    assert.equal(waiting.batches[0]?.status, 'pending');
    const since = Date.parse(waiting.batches[0]?.token_limit_wait_since ?? '');
    assert.ok(since >= before && since <= Date.now(), `waiting since ${waiting.batches[0]?.token_limit_wait_since}`);

    const cancelled = await t.request('POST', `/v1/runs/${run.id}/cancel`);
    assert.equal(cancelled.status, 202, cancelled.text);
    const ended = await t.waitForRunEnd(run.id, 10_000);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.batches[0]?.status, 'cancelled');
    assert.equal(ended.batches[0]?.token_limit_wait_since, null);
    assert.deepEqual(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }), []);
    const lines = await t.results(run.id);
    assert.deepEqual(lines.map((line) => line.error?.code), ['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
  });

  it('a stage that put a job to sleep after a cancel looked for sleeping jobs wakes it itself, and only for a cancel', async () => {
    await fillBudget(t, 'late-model');
    const run = await t.postRun({ endpoint: '/v1/chat/completions', requests: modelRequests('late-model', 2, 'l') });
    await waitingSince(run.id);
    const job = await t.service.deps.queues.submit.getJob(jobIds.submit({ runId: run.id, shard: 0, generation: 0 }));
    assert.equal(await job?.isDelayed(), true);
    await promoteIfCancelled(t.service.deps, run.id, () => Promise.resolve(job));
    assert.equal(await job?.isDelayed(), true, 'no cancel: the job sleeps on');
    // The cancel's own look for delayed jobs came too early: only its flag is there.
    await t.service.deps.ledger.updateRun(run.id, { cancel_requested: true });
    await promoteIfCancelled(t.service.deps, run.id, () => Promise.resolve(job));
    const ended = await t.waitForRunEnd(run.id, 10_000);
    assert.equal(ended.status, 'cancelled');
  });

  it('a shard waiting to resubmit after token_limit_exceeded shows since when, and a cancel settles it at once', async () => {
    // Two shards sent together: the second goes over the limit and waits ten minutes to go again.
    const run = await t.postRun({ endpoint: '/v1/chat/completions', requests: requests(20) });
    const waiting = await waitingSince(run.id);
    const held = waiting.batches.find((batch) => batch.token_limit_wait_since !== null);
    assert.equal(held?.generation, 1);
    assert.equal(held?.status, 'pending');
    assert.equal((await t.request('POST', `/v1/runs/${run.id}/cancel`)).status, 202);
    const ended = await t.waitForRunEnd(run.id, 10_000);
    assert.equal(ended.status, 'cancelled');
    assert.equal(ended.batches.find((batch) => batch.shard === held?.shard)?.status, 'cancelled');
    assert.equal((await t.results(run.id)).length, 20);
  });
});

describe('the bound on waiting for room under the enqueued-token limit', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ tuning: { tokenBudgetRecheckMs: 100, tokenWaitMaxMs: 1_000 } });
  });
  after(async () => {
    await t.close();
  });

  it('ends a shard that found no room within the bound, saying how long it waited', async () => {
    await fillBudget(t, 'busy-model');
    const run = await t.postRun({ endpoint: '/v1/chat/completions', requests: modelRequests('busy-model', 3, 'b') });
    const ended = await t.waitForRunEnd(run.id, 20_000);
    assert.equal(ended.status, 'failed');
    assert.deepEqual(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }), []);
    const lines = await t.results(run.id);
    assert.equal(lines.length, 3);
    for (const line of lines) {
      assert.equal(line.error?.code, 'token_limit_wait_exceeded');
      assert.match(line.error?.message ?? '', /waited [\d.]+ h for room under busy-model's enqueued-token limit of 1,000 and got none/);
    }
  });
});

describe('a small retry of a big shard refused while others held the limit', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(async () => {
    await t.close();
  });

  /** Requests of about 230 tokens each by the service's estimate (a little less by OpenAI's). */
  const bigRequests = (model: string, count: number, prefix: string) =>
    Array.from({ length: count }, (_, index) => ({
      custom_id: `${prefix}${index}`,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model, messages: [{ role: 'user', content: `Request ${index}: ${'words to count '.repeat(52)}` }] },
    }));

  it('is judged by its own few requests: it waits for room instead of being refused as over the whole limit', async () => {
    const model = 'split-model';
    // Lines 2 and 3 of each generation's file fail with server_error; each batch runs 1.5 s.
    const run = await t.postRun({
      endpoint: '/v1/chat/completions',
      requests: bigRequests(model, 20, 's'),
      metadata: { emulator_fail_lines: '2,3', emulator_error_shape: 'error', emulator_in_progress_ms: '1500' },
    });
    const openai = t.service.deps.openai;
    // Generation 0 (about 4,600 tokens) runs while no limit is known.
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        const running = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }).some((batch) => batch.status === 'in_progress');
        if (running) resolve();
        else setTimeout(check, 20);
      };
      setTimeout(check, 0);
      setTimeout(() => reject(new Error('generation 0 never ran')), 10_000).unref();
    });
    // Another user of the organisation then enqueues about 800 tokens of the model for 4 s, and the limit
    // turns out to be 1,000: generation 1 (the 2 failed requests, about 460 tokens) is refused beside it.
    const file = await openai.files.create({ file: await toFile(Buffer.from(bigRequests(model, 4, 'other').map((line) => JSON.stringify(line)).join('\n')), 'other.jsonl'), purpose: 'batch' });
    const other = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { emulator_in_progress_ms: '4000' } });
    assert.equal((await openai.batches.retrieve(other.id)).status, 'in_progress');
    t.emulator.faults.tokenBudgetPerModel[model] = 1_000;

    const ended = await t.waitForRunEnd(run.id, 30_000);
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.ok(
      batches.some((batch) => batch.errors?.data?.[0]?.code === 'token_limit_exceeded'),
      `a small generation was refused for the limit: ${JSON.stringify(batches.map((batch) => batch.status))}`,
    );
    assert.equal(ended.status, 'succeeded', JSON.stringify(ended));
    assert.equal(ended.counts.succeeded, 20);
    assert.equal(await t.service.deps.tokenBudget.limitOf(model), 1_000);
    // The last generation carried the estimate of its own one request, not the whole shard's.
    const shard = await t.service.deps.ledger.getShard(run.id, 0);
    assert.ok((shard?.estimated_tokens ?? 0) > 0 && (shard?.estimated_tokens ?? 0) < 500, `estimated ${shard?.estimated_tokens}`);
  });
});
