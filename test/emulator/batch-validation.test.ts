import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import OpenAI from 'openai';
import type { Batch } from 'openai/resources/batches';
import { chatLine, startKit, type EmulatorKit } from './emulator-test-kit.js';

/** Each way OpenAI rejects a batch: input file problems end in status failed with errors.data; bad create params are 4xx. */
describe('emulator: batch validation', () => {
  let kit: EmulatorKit;
  before(async () => {
    kit = await startKit();
  });
  after(async () => {
    await kit.close();
  });

  const failedWith = async (lines: ReadonlyArray<unknown>, endpoint: OpenAI.Batches.BatchCreateParams['endpoint'] = '/v1/chat/completions'): Promise<Batch> => {
    const created = await kit.createBatch(lines, { endpoint });
    assert.equal(created.status, 'validating');
    const batch = await kit.client.batches.retrieve(created.id);
    assert.equal(batch.status, 'failed');
    assert.ok(batch.failed_at !== null);
    assert.equal(batch.in_progress_at, null);
    assert.equal(batch.output_file_id, null);
    assert.equal(batch.error_file_id, null);
    assert.deepEqual(batch.request_counts, { total: 0, completed: 0, failed: 0 });
    assert.equal(batch.errors?.object, 'list');
    return batch;
  };
  const errorsOf = (batch: Batch): Array<{ code?: string; param?: string | null; line?: number | null }> => batch.errors?.data ?? [];

  it('a line that is not JSON: invalid_json_line with its line number', async () => {
    const batch = await failedWith([chatLine('a', 'hi'), '{"custom_id": "b", "method": "POST",', chatLine('c', 'hi')]);
    assert.deepEqual(errorsOf(batch).map(({ code, line }) => ({ code, line })), [{ code: 'invalid_json_line', line: 2 }]);
    assert.match(batch.errors?.data?.[0]?.message ?? '', /not parseable as valid JSON/);
  });

  for (const field of ['custom_id', 'method', 'url', 'body'] as const) {
    it(`a line without ${field}: missing_required_parameter`, async () => {
      const line = chatLine('a', 'hi');
      delete line[field];
      const batch = await failedWith([chatLine('ok', 'hi'), line]);
      assert.deepEqual(errorsOf(batch), [{ code: 'missing_required_parameter', message: `Missing required parameter: '${field}'.`, param: field, line: 2 }]);
    });
  }

  it('a body without a model: missing_required_parameter on body.model', async () => {
    const batch = await failedWith([{ custom_id: 'a', method: 'POST', url: '/v1/chat/completions', body: { messages: [] } }]);
    assert.deepEqual(errorsOf(batch).map(({ code, param }) => ({ code, param })), [{ code: 'missing_required_parameter', param: 'body.model' }]);
  });

  it('a duplicate custom_id', async () => {
    const batch = await failedWith([chatLine('same', 'one'), chatLine('other', 'two'), chatLine('same', 'three')]);
    assert.deepEqual(errorsOf(batch).map(({ code, param, line }) => ({ code, param, line })), [{ code: 'duplicate_custom_id', param: 'custom_id', line: 3 }]);
  });

  it('a url other than the batch endpoint', async () => {
    const batch = await failedWith([chatLine('a', 'hi'), { ...chatLine('b', 'hi'), url: '/v1/embeddings' }]);
    assert.deepEqual(errorsOf(batch).map(({ code, param, line }) => ({ code, param, line })), [{ code: 'invalid_url', param: 'url', line: 2 }]);
  });

  it('a method other than POST', async () => {
    const batch = await failedWith([{ ...chatLine('a', 'hi'), method: 'GET' }]);
    assert.deepEqual(errorsOf(batch).map(({ code, param }) => ({ code, param })), [{ code: 'invalid_value', param: 'method' }]);
  });

  it('more than one model in a file', async () => {
    const batch = await failedWith([chatLine('a', 'hi', 'gpt-4o-mini'), chatLine('b', 'hi', 'gpt-4o-mini'), chatLine('c', 'hi', 'gpt-4o')]);
    assert.deepEqual(errorsOf(batch).map(({ code, param, line }) => ({ code, param, line })), [{ code: 'mismatched_model', param: 'body.model', line: 3 }]);
  });

  it('an empty file', async () => {
    const batch = await failedWith([]);
    assert.deepEqual(errorsOf(batch).map(({ code, line }) => ({ code, line })), [{ code: 'empty_file', line: null }]);
  });

  it('a file of blank lines counts as empty', async () => {
    const batch = await failedWith(['', '   ']);
    assert.equal(errorsOf(batch)[0]?.code, 'empty_file');
  });

  it('more than 50,000 requests', async () => {
    const lines = Array.from({ length: 50_001 }, (_, i) => `{"custom_id":"r${i}","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}`);
    const batch = await failedWith(lines, '/v1/embeddings');
    assert.deepEqual(errorsOf(batch).map(({ code }) => code), ['request_limit_exceeded']);
    assert.match(batch.errors?.data?.[0]?.message ?? '', /50,001 requests.*at most 50,000/);
  });

  it('more than 50,000 embedding inputs across an /v1/embeddings file', async () => {
    const input = Array.from({ length: 10_001 }, () => 'x');
    const lines = Array.from({ length: 5 }, (_, i) => ({ custom_id: `e${i}`, method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input } }));
    const batch = await failedWith(lines, '/v1/embeddings');
    assert.deepEqual(errorsOf(batch).map(({ code }) => code), ['embedding_input_limit_exceeded']);
  });

  it('lists every bad line, not only the first', async () => {
    const batch = await failedWith(['not json', chatLine('ok', 'hi'), { ...chatLine('x', 'hi'), custom_id: undefined }, chatLine('ok', 'again')]);
    assert.deepEqual(errorsOf(batch).map(({ code, line }) => ({ code, line })), [
      { code: 'invalid_json_line', line: 1 },
      { code: 'missing_required_parameter', line: 3 },
      { code: 'duplicate_custom_id', line: 4 },
    ]);
  });

  const createError = async (params: Record<string, unknown>): Promise<InstanceType<typeof OpenAI.APIError>> => {
    const file = await kit.upload([chatLine('a', 'hi')]);
    const error = await kit.client.batches
      .create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', ...params } as OpenAI.Batches.BatchCreateParams)
      .then(() => assert.fail('create should have been refused'), (e: unknown) => e);
    assert.ok(error instanceof OpenAI.APIError, String(error));
    return error;
  };

  it('an unknown endpoint is refused with a 400', async () => {
    const error = await createError({ endpoint: '/v1/unknown' });
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.param, 'endpoint');
    assert.equal(error.type, 'invalid_request_error');
    assert.match(error.message, /Invalid value/);
    assert.equal(kit.emulator.ledger.batches().filter((b) => b.endpoint === '/v1/unknown').length, 0, 'no batch was created');
  });

  it('an unknown completion_window is refused with a 400', async () => {
    const error = await createError({ completion_window: '48h' });
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.param, 'completion_window');
  });

  it('a missing input file is a 404, an input file without purpose batch a 400', async () => {
    const missing = await createError({ input_file_id: 'file-doesnotexist' });
    assert.ok(missing instanceof OpenAI.NotFoundError);
    assert.equal(missing.param, 'input_file_id');
    const { Readable } = await import('node:stream');
    const other = await kit.client.files.create({ file: await OpenAI.toFile(Readable.from([Buffer.from('{}\n')]), 'notes.jsonl'), purpose: 'user_data' });
    const wrongPurpose = await createError({ input_file_id: other.id });
    assert.ok(wrongPurpose instanceof OpenAI.BadRequestError);
    assert.match(wrongPurpose.message, /purpose 'batch'/);
  });

  it('metadata over OpenAI limits is refused: 16 pairs, 64-character keys, 512-character values', async () => {
    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    assert.equal((await createError({ metadata: tooMany })).param, 'metadata');
    assert.equal((await createError({ metadata: { ['k'.repeat(65)]: 'v' } })).param, 'metadata');
    assert.equal((await createError({ metadata: { k: 'v'.repeat(513) } })).param, 'metadata.k');
    const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`.padEnd(64, 'x'), 'v'.repeat(512)]));
    const file = await kit.upload([chatLine('a', 'hi')]);
    const ok = await kit.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: sixteen });
    assert.equal(ok.status, 'validating');
  });

  it('a malformed or unknown emulator_ metadata key is refused, so a typo never passes silently', async () => {
    assert.equal((await createError({ metadata: { emulator_error_rate: '2' } })).param, 'metadata.emulator_error_rate');
    assert.equal((await createError({ metadata: { emulator_eror_rate: '0.1' } })).param, 'metadata.emulator_eror_rate');
  });

  it('unknown create parameters are refused, as OpenAI does', async () => {
    const error = await createError({ priority: 'high' });
    assert.match(error.message, /Unrecognized request argument supplied: priority/);
  });
});
