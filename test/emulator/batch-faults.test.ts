import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import OpenAI from 'openai';
import { chatLine, chatLines, makeClient, startKit, TERMINAL, type EmulatorKit, type ResultLine } from './emulator-test-kit.js';

const isErrorLine = (line: ResultLine): boolean => line.error !== null || (line.response !== null && line.response.status_code >= 400);

function assertErrorLineShape(line: ResultLine): void {
  if (line.response === null) {
    assert.ok(line.error !== null && typeof line.error.code === 'string' && typeof line.error.message === 'string', JSON.stringify(line));
  } else {
    assert.equal(line.error, null);
    assert.ok(line.response.status_code >= 400 && line.response.status_code < 600);
    const body = line.response.body as { error?: { message?: unknown; type?: unknown } };
    assert.ok(typeof body.error?.message === 'string' && typeof body.error.type === 'string', JSON.stringify(line));
  }
}

describe('emulator: per-request faults', () => {
  let kit: EmulatorKit;
  before(async () => {
    kit = await startKit();
  });
  after(async () => {
    await kit.close();
  });

  it('fails requests at the metadata error rate, in both of OpenAI error-line shapes', async () => {
    const created = await kit.createBatch(chatLines(200), { metadata: { emulator_error_rate: '0.3' } });
    const batch = await kit.waitForStatus(created.id, TERMINAL);
    assert.equal(batch.status, 'completed', 'a batch with failed requests still completes');
    const counts = batch.request_counts;
    assert.ok(counts !== undefined);
    assert.equal(counts.total, 200);
    assert.equal(counts.completed + counts.failed, 200);
    assert.ok(counts.failed > 30 && counts.failed < 90, `failed ${counts.failed} of 200 at rate 0.3`);
    const output = await kit.readJsonl(batch.output_file_id ?? '');
    const errors = await kit.readJsonl(batch.error_file_id ?? '');
    assert.equal(output.length, counts.completed);
    assert.equal(errors.length, counts.failed);
    assert.ok(output.every((line) => !isErrorLine(line)));
    errors.forEach(assertErrorLineShape);
    assert.ok(errors.some((line) => line.response === null), 'some error lines have response: null');
    assert.ok(errors.some((line) => line.response !== null && line.response.status_code >= 500), 'some have a 5xx response');
    assert.ok(errors.some((line) => line.response !== null && line.response.status_code >= 400 && line.response.status_code < 500), 'some have a 4xx response');
    assert.deepEqual([...output, ...errors].map((line) => line.custom_id).sort(), chatLines(200).map((line) => String(line['custom_id'])).sort());
  });

  it('can force one error shape and status', async () => {
    const created = await kit.createBatch(chatLines(20), {
      metadata: { emulator_error_rate: '1', emulator_error_shape: 'response', emulator_error_status: '503' },
    });
    const batch = await kit.waitForStatus(created.id, TERMINAL);
    const errors = await kit.readJsonl(batch.error_file_id ?? '');
    assert.equal(errors.length, 20);
    assert.ok(errors.every((line) => line.response?.status_code === 503 && line.error === null));
    const nullShape = await kit.createBatch(chatLines(5), { metadata: { emulator_error_rate: '1', emulator_error_shape: 'error' } });
    const nullErrors = await kit.readJsonl((await kit.waitForStatus(nullShape.id, TERMINAL)).error_file_id ?? '');
    assert.ok(nullErrors.every((line) => line.response === null && line.error?.code === 'server_error'));
  });

  it('fails exactly the listed lines and the requests carrying EMULATOR_FAIL', async () => {
    const lines = chatLines(8);
    lines[6] = chatLine('marked', 'please EMULATOR_FAIL this one');
    const created = await kit.createBatch(lines, { metadata: { emulator_fail_lines: '2,5' } });
    const batch = await kit.waitForStatus(created.id, TERMINAL);
    const failed = (await kit.readJsonl(batch.error_file_id ?? '')).map((line) => line.custom_id).sort();
    assert.deepEqual(failed, ['marked', 'req-1', 'req-4']);
  });

  it('a completed batch whose every request failed has no output file', async () => {
    const created = await kit.createBatch(chatLines(4), { metadata: { emulator_error_rate: '1' } });
    const batch = await kit.waitForStatus(created.id, TERMINAL);
    assert.equal(batch.status, 'completed');
    assert.equal(batch.output_file_id, null);
    assert.ok(typeof batch.error_file_id === 'string');
    assert.deepEqual(batch.request_counts, { total: 4, completed: 0, failed: 4 });
  });

  it('the server-wide error rate can be switched on and off between steps', async () => {
    kit.emulator.faults.requestErrorRate = 1;
    try {
      const failing = await kit.waitForStatus((await kit.createBatch(chatLines(3))).id, TERMINAL);
      assert.equal(failing.request_counts?.failed, 3);
    } finally {
      kit.emulator.faults.requestErrorRate = 0;
    }
    const clean = await kit.waitForStatus((await kit.createBatch(chatLines(3))).id, TERMINAL);
    assert.equal(clean.request_counts?.failed, 0);
  });
});

describe('emulator: expiry and cancellation', () => {
  let kit: EmulatorKit;
  before(async () => {
    kit = await startKit();
  });
  after(async () => {
    await kit.close();
  });

  it('expires part-way: results for what finished, batch_expired lines for the rest', async () => {
    const created = await kit.createBatch(chatLines(100), { metadata: { emulator_expire_at: '0.6' } });
    const batch = await kit.waitForStatus(created.id, TERMINAL);
    assert.equal(batch.status, 'expired');
    assert.ok(batch.expired_at !== null && batch.in_progress_at !== null);
    assert.equal(batch.completed_at, null);
    assert.deepEqual(batch.request_counts, { total: 100, completed: 60, failed: 40 });
    const output = await kit.readJsonl(batch.output_file_id ?? '');
    const errors = await kit.readJsonl(batch.error_file_id ?? '');
    assert.equal(output.length, 60);
    assert.equal(errors.length, 40);
    assert.ok(errors.every((line) => line.response === null && line.error?.code === 'batch_expired'));
    assert.ok((batch.usage?.input_tokens ?? 0) > 0, 'what finished is billed');
  });

  it('expires after running for a while when it has in-progress time, and the server-wide setting applies too', async () => {
    const timed = await startKit({ inProgressMs: 400, faults: { expireAtFraction: 0.5 } });
    try {
      const created = await timed.createBatch(chatLines(10));
      const running = await timed.waitForStatus(created.id, ['in_progress', ...TERMINAL]);
      assert.equal(running.status, 'in_progress');
      assert.ok(typeof running.expires_at === 'number' && running.expires_at <= running.created_at + 2, 'expires_at tells when it will expire');
      const batch = await timed.waitForStatus(created.id, TERMINAL);
      assert.equal(batch.status, 'expired');
      assert.deepEqual(batch.request_counts, { total: 10, completed: 5, failed: 5 });
    } finally {
      await timed.close();
    }
  });

  it('cancels through cancelling to cancelled, with partial results and batch_cancelled for the rest', async () => {
    const slow = await startKit({ cancellingMs: 200 });
    try {
      const created = await slow.createBatch(chatLines(100), { metadata: { emulator_in_progress_ms: '1000' } });
      let running = await slow.waitForStatus(created.id, ['in_progress']);
      while ((running.request_counts?.completed ?? 0) === 0) running = await slow.client.batches.retrieve(created.id);
      const cancelling = await slow.client.batches.cancel(created.id);
      assert.equal(cancelling.status, 'cancelling');
      assert.ok(cancelling.cancelling_at !== null);
      assert.equal(cancelling.cancelled_at, null);
      const again = await slow.client.batches.cancel(created.id);
      assert.equal(again.status, 'cancelling', 'cancelling twice is harmless');
      const batch = await slow.waitForStatus(created.id, TERMINAL);
      assert.equal(batch.status, 'cancelled');
      assert.ok(batch.cancelled_at !== null);
      const counts = batch.request_counts;
      assert.ok(counts !== undefined && counts.completed > 0 && counts.completed < 100, JSON.stringify(counts));
      assert.equal(counts.completed + counts.failed, 100);
      const output = await slow.readJsonl(batch.output_file_id ?? '');
      const errors = await slow.readJsonl(batch.error_file_id ?? '');
      assert.equal(output.length, counts.completed);
      assert.ok(errors.every((line) => line.error?.code === 'batch_cancelled'));
      assert.deepEqual(slow.emulator.ledger.batch(created.id)?.statusHistory.map((entry) => entry.status), ['validating', 'in_progress', 'cancelling', 'cancelled']);
    } finally {
      await slow.close();
    }
  });

  it('a batch cancelled while validating ends cancelled without result files', async () => {
    const created = await kit.createBatch(chatLines(3), { metadata: { emulator_validating_ms: '5000' } });
    const cancelling = await kit.client.batches.cancel(created.id);
    assert.equal(cancelling.status, 'cancelling');
    const batch = await kit.waitForStatus(created.id, TERMINAL);
    assert.equal(batch.status, 'cancelled');
    assert.equal(batch.in_progress_at, null);
    assert.equal(batch.output_file_id, null);
    assert.equal(batch.error_file_id, null);
  });

  it('reads the input of a batch only once its validating time is over, and a read then waits for it', async () => {
    const created = await kit.createBatch(chatLines(3), { metadata: { emulator_validating_ms: '300' } });
    const createdMs = Date.now();
    // The model is known from the input's lines: null means the file has not been read.
    assert.equal(kit.emulator.ledger.batch(created.id)?.model, null, 'not read at create');
    const cancelledEarly = await kit.createBatch(chatLines(3), { metadata: { emulator_validating_ms: '300' } });
    await kit.client.batches.cancel(cancelledEarly.id);

    const batch = await kit.waitForStatus(created.id, TERMINAL);
    assert.equal(batch.status, 'completed');
    assert.ok(Date.now() - createdMs >= 300);
    assert.equal(kit.emulator.ledger.batch(created.id)?.model, 'gpt-4o-mini', 'read once due');
    assert.equal((await kit.waitForStatus(cancelledEarly.id, TERMINAL)).status, 'cancelled');
    assert.equal(kit.emulator.ledger.batch(cancelledEarly.id)?.model, null, 'a batch cancelled while validating is never read');
  });

  it('refuses to cancel a finished batch with a 400', async () => {
    const created = await kit.createBatch(chatLines(1));
    await kit.waitForStatus(created.id, TERMINAL);
    await assert.rejects(kit.client.batches.cancel(created.id), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.match(error.message, /Cannot cancel a batch with status 'completed'/);
      return true;
    });
    await assert.rejects(kit.client.batches.cancel('batch_nope'), OpenAI.NotFoundError);
  });
});

describe('emulator: the enqueued-token limit', () => {
  it('fails a batch over the model budget counted over running batches, and accepts it once they are done', async () => {
    const kit = await startKit({ faults: { tokenBudgetPerModel: { 'gpt-4o-mini': 1000 } } });
    try {
      // One 2,000-character message: about 506 tokens.
      const big = [chatLine('a', 'x'.repeat(2000))];
      const running = await kit.createBatch(big, { metadata: { emulator_in_progress_ms: '60000' } });
      assert.equal((await kit.waitForStatus(running.id, ['in_progress', ...TERMINAL])).status, 'in_progress');

      const over = await kit.waitForStatus((await kit.createBatch(big)).id, TERMINAL);
      assert.equal(over.status, 'failed');
      assert.deepEqual(over.errors?.data?.map((error) => error.code), ['token_limit_exceeded']);
      assert.match(over.errors?.data?.[0]?.message ?? '', /Limit: 1,000 enqueued tokens/);

      const otherModel = await kit.waitForStatus((await kit.createBatch([chatLine('a', 'x'.repeat(2000), 'gpt-4o')])).id, TERMINAL);
      assert.equal(otherModel.status, 'completed', 'the budget is per model');

      await kit.client.batches.cancel(running.id);
      assert.equal((await kit.waitForStatus(running.id, TERMINAL)).status, 'cancelled');
      const retried = await kit.waitForStatus((await kit.createBatch(big)).id, TERMINAL);
      assert.equal(retried.status, 'completed', 'transient: fits once the running batch is gone');

      const alone = await kit.waitForStatus((await kit.createBatch([chatLine('a', 'x'.repeat(5000))])).id, TERMINAL);
      assert.equal(alone.status, 'failed', 'a batch bigger than the whole budget never fits');
    } finally {
      await kit.close();
    }
  });
});

describe('emulator: API-level faults', () => {
  let kit: EmulatorKit;
  before(async () => {
    kit = await startKit();
  });
  after(async () => {
    await kit.close();
  });

  const resetFaults = (): void => {
    Object.assign(kit.emulator.faults, {
      rateLimitNext: 0,
      rateLimitEvery: 0,
      serverErrorNext: 0,
      serverErrorEvery: 0,
      latencyMs: 0,
      dropCreateResponse: 0,
      operations: null,
      retryAfterSeconds: 1,
    });
  };

  it('answers 429 with retry-after, which the SDK waits for and retries', async () => {
    resetFaults();
    const noRetry = makeClient(kit.emulator, { maxRetries: 0 });
    kit.emulator.faults.retryAfterSeconds = 0.05;
    kit.emulator.faults.rateLimitNext = 1;
    await assert.rejects(noRetry.batches.list(), (error: unknown) => {
      assert.ok(error instanceof OpenAI.RateLimitError);
      assert.equal(error.status, 429);
      assert.equal(error.code, 'rate_limit_exceeded');
      assert.equal(error.headers.get('retry-after'), '1');
      assert.equal(error.headers.get('retry-after-ms'), '50');
      assert.match(error.requestID ?? '', /^req_[0-9a-f]{32}$/);
      return true;
    });
    kit.emulator.faults.rateLimitNext = 2;
    const started = Date.now();
    const page = await kit.client.batches.list();
    assert.ok(Date.now() - started >= 100, 'the SDK waited retry-after-ms twice');
    assert.ok(Array.isArray(page.data));
    assert.equal(kit.emulator.faults.rateLimitNext, 0);
  });

  it('answers every Nth request with 429 or 500', async () => {
    resetFaults();
    const noRetry = makeClient(kit.emulator, { maxRetries: 0 });
    kit.emulator.faults.rateLimitEvery = 3;
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await noRetry.files.list().then(() => 'ok', (error: unknown) => (error instanceof OpenAI.APIError ? String(error.status) : 'other')));
    resetFaults();
    assert.equal(outcomes.filter((outcome) => outcome === '429').length, 2, outcomes.join(','));
    kit.emulator.faults.serverErrorEvery = 2;
    const serverOutcomes: string[] = [];
    for (let i = 0; i < 4; i++) serverOutcomes.push(await noRetry.files.list().then(() => 'ok', (error: unknown) => (error instanceof OpenAI.APIError ? String(error.status) : 'other')));
    resetFaults();
    assert.equal(serverOutcomes.filter((outcome) => outcome === '500').length, 2, serverOutcomes.join(','));
  });

  it('answers 500 in OpenAI shape; the SDK retries it', async () => {
    resetFaults();
    const noRetry = makeClient(kit.emulator, { maxRetries: 0 });
    kit.emulator.faults.serverErrorNext = 1;
    await assert.rejects(noRetry.files.list(), (error: unknown) => {
      assert.ok(error instanceof OpenAI.InternalServerError);
      assert.equal(error.type, 'server_error');
      return true;
    });
    kit.emulator.faults.serverErrorNext = 1;
    assert.ok(Array.isArray((await kit.client.files.list()).data));
  });

  it('aims faults at chosen operations only', async () => {
    resetFaults();
    const noRetry = makeClient(kit.emulator, { maxRetries: 0 });
    const file = await kit.upload([chatLine('a', 'hi')]);
    kit.emulator.faults.operations = ['createBatch'];
    kit.emulator.faults.serverErrorNext = 1;
    assert.equal((await noRetry.files.retrieve(file.id)).id, file.id, 'retrieveFile is not hit');
    await assert.rejects(noRetry.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }), OpenAI.InternalServerError);
    resetFaults();
  });

  it('slows responses down, server-wide and per batch', async () => {
    resetFaults();
    kit.emulator.faults.latencyMs = 300;
    const noRetry = makeClient(kit.emulator, { maxRetries: 0, timeout: 100 });
    await assert.rejects(noRetry.files.list(), OpenAI.APIConnectionTimeoutError);
    let started = Date.now();
    await kit.client.files.list();
    assert.ok(Date.now() - started >= 290);
    resetFaults();

    const slow = await kit.createBatch(chatLines(1), { metadata: { emulator_latency_ms: '250' } });
    const fast = await kit.createBatch(chatLines(1));
    started = Date.now();
    await kit.client.batches.retrieve(fast.id);
    assert.ok(Date.now() - started < 200);
    started = Date.now();
    await kit.client.batches.retrieve(slow.id);
    assert.ok(Date.now() - started >= 240);
  });

  it('creates the batch but drops the response: the client sees a connection error, the ledger sees the batch', async () => {
    resetFaults();
    const noRetry = makeClient(kit.emulator, { maxRetries: 0 });
    const file = await kit.upload([chatLine('a', 'hi')]);
    const params = { input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { batchline_run: 'run_drop', batchline_shard: '0' } } as const;
    kit.emulator.faults.dropCreateResponse = 1;
    await assert.rejects(noRetry.batches.create(params), OpenAI.APIConnectionError);
    assert.equal(kit.emulator.faults.dropCreateResponse, 0);
    const [record] = kit.emulator.ledger.batches({ metadata: { batchline_run: 'run_drop' } });
    assert.ok(record !== undefined && record.createResponseDropped);
    const listed = await kit.client.batches.list({ limit: 100 });
    assert.ok(listed.data.some((batch) => batch.id === record.id && batch.metadata?.['batchline_run'] === 'run_drop'), 'the batch exists for a client that looks');

    // The SDK's own retry of a lost create makes a second batch: the hazard the service must avoid.
    kit.emulator.faults.dropCreateResponse = 1;
    const retried = await kit.client.batches.create({ ...params, metadata: { batchline_run: 'run_drop_retry', batchline_shard: '0' } });
    assert.equal(retried.status, 'validating');
    assert.equal(kit.emulator.ledger.duplicates(['batchline_run', 'batchline_shard']).length, 1);
  });

  it('drops create responses chosen by a predicate', async () => {
    resetFaults();
    const noRetry = makeClient(kit.emulator, { maxRetries: 0 });
    kit.emulator.faults.dropCreateResponse = (batch) => batch.metadata?.['batchline_shard'] === '1';
    const file = await kit.upload([chatLine('a', 'hi')]);
    const create = (shard: string): Promise<unknown> =>
      noRetry.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { batchline_run: 'run_pred', batchline_shard: shard } });
    await create('0');
    await assert.rejects(create('1'), OpenAI.APIConnectionError);
    await create('2');
    resetFaults();
    assert.deepEqual(
      kit.emulator.ledger.batches({ metadata: { batchline_run: 'run_pred' } }).map((batch) => [batch.metadata?.['batchline_shard'], batch.createResponseDropped]),
      [['0', false], ['1', true], ['2', false]],
    );
  });
});
