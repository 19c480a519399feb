import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { startTestService, type TestService } from '../helpers/test-service.js';

const line = (custom_id: string, overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ custom_id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] }, ...overrides });

describe('bad input to POST /v1/runs is refused whole', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(async () => {
    await t.close();
  });

  const expectError = async (response: { status: number; body: unknown; text: string }, status: number, code: string, message?: RegExp) => {
    assert.equal(response.status, status, response.text);
    const error = (response.body as { error?: { code?: string; message?: string } }).error;
    assert.equal(error?.code, code, response.text);
    if (message !== undefined) assert.match(error?.message ?? '', message);
  };

  it('answers 4xx with { error: { code, message } } for each bad JSON body', async () => {
    await expectError(await t.request('POST', '/v1/runs', '{"template": '), 400, 'invalid_json');
    await expectError(await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [] }), 400, 'invalid_request', /items: must hold at least one item/);
    await expectError(await t.request('POST', '/v1/runs', { template: { type: 'telepathy' }, items: [{}] }), 400, 'invalid_request', /template.type/);
    await expectError(await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ text: 'a' }], extra: 1 }), 400, 'invalid_request', /unknown field "extra"/);
    await expectError(
      await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: [JSON.parse(line('a')), JSON.parse(line('a'))] }),
      400,
      'duplicate_custom_id',
    );
    await expectError(await t.request('POST', '/v1/runs', { pipeline: 'nope', items: [{ id: 1 }] }), 404, 'not_found', /pipeline nope/);
    await expectError(await t.request('POST', '/v1/runs', 'plain', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
  });

  it('refuses a bad NDJSON line by number and keeps nothing of the stream', async () => {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    await expectError(await t.request('POST', '/v1/runs', line('a'), ndjson), 400, 'invalid_request', /\?endpoint= is required/);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), '{not json', line('c')].join('\n'), ndjson), 400, 'invalid_json_line', /line 2/);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('b', { url: '/v1/embeddings' })].join('\n'), ndjson), 400, 'endpoint_mismatch', /line 2.url/);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('b'), line('a')].join('\n'), ndjson), 400, 'duplicate_custom_id', /line 3/);
    await expectError(
      await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('b', { body: { model: 'other', messages: [] } })].join('\n'), ndjson),
      400,
      'multiple_models',
    );
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', '\n\n', ndjson), 400, 'invalid_request', /no request lines/);
    // Nothing was recorded or left on storage by any refused request.
    const listed = await t.request('GET', '/v1/runs');
    assert.deepEqual((listed.body as { data: unknown[] }).data, []);
    const leftovers = await readdir(path.join(t.storageDir, 'data'), { recursive: true }).catch(() => []);
    assert.deepEqual(leftovers.filter((entry) => entry.endsWith('.jsonl') || entry.endsWith('.ndjson')), []);
    const work = await readdir(path.join(t.storageDir, 'work')).catch(() => []);
    assert.deepEqual(work, []);
  });

  it('answers 503 at once when Redis is down and starts nothing later', async () => {
    await t.redis.kill();
    const started = Date.now();
    const response = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ id: 'late', text: 'Never. Runs.' }] });
    assert.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms`);
    await expectError(response, 503, 'unavailable');
    await t.redis.restart();
    // Once Redis is back, the refused run does not appear.
    if (t.service.deps.redis.status !== 'ready') await once(t.service.deps.redis, 'ready');
    const listed = await t.request('GET', '/v1/runs');
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual((listed.body as { data: unknown[] }).data, []);
  });
});
