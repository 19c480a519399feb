import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { MAX_JSON_DEPTH } from '../../src/lib/json-depth.js';
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
    await expectError(await t.request('POST', '/v1/runs', '{"template": '), 400, 'invalid_json', /not valid JSON: .*(end of JSON|position)/i);
    await expectError(await t.request('POST', '/v1/runs', '{"template":{"type":"summarize"},"items":[{"id":"a","text":"x","__proto__":{"admin":true}}]}'), 400, 'forbidden_key', /"__proto__"/);
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
    // What curl -d sends unless told otherwise: the answer says how to send JSON instead.
    await expectError(
      await t.request('POST', '/v1/runs', 'items=1', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'unsupported_media_type',
      /send application\/json.*curl -d sends a form: add -H 'content-type: application\/json'/,
    );
    await expectError(await t.request('PUT', '/v1/pipelines/p', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type', /send application\/json \(curl -d/);
    // The same words whether Fastify or the route refuses the type; NDJSON is offered only where it is taken.
    await expectError(await t.request('POST', '/v1/runs', 'plain', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type', /^unsupported Content-Type text\/plain: send application\/json or application\/x-ndjson$/);
    await expectError(await t.request('PUT', '/v1/pipelines/p', '<a/>', { 'content-type': 'application/xml' }), 415, 'unsupported_media_type', /^unsupported Content-Type application\/xml: send application\/json$/);
    await expectError(
      await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, endpoint: '/v1/chat/completions', items: [{ id: 'a', text: 'x' }] }),
      400,
      'invalid_request',
      /names "template", "endpoint", "items"/,
    );
  });

  it('answers 405 with Allow for a known path and another method, 404 for an unknown path', async () => {
    assert.ok(t.service.app !== null);
    const deleteRuns = await t.service.app.inject({ method: 'DELETE', url: '/v1/runs?limit=1' });
    assert.equal(deleteRuns.statusCode, 405, deleteRuns.body);
    assert.equal(deleteRuns.headers['allow'], 'GET, HEAD, POST');
    assert.equal((JSON.parse(deleteRuns.body) as { error: { code: string } }).error.code, 'method_not_allowed');
    const getCancel = await t.service.app.inject({ method: 'GET', url: '/v1/runs/run_abc/cancel' });
    assert.equal(getCancel.statusCode, 405);
    assert.equal(getCancel.headers['allow'], 'POST');
    await expectError(await t.request('GET', '/v1/nothing-here'), 404, 'not_found', /no route GET \/v1\/nothing-here/);
    await expectError(await t.request('GET', '/v1/runs/run_abc/cancel/more'), 404, 'not_found');
  });

  it('refuses a bad NDJSON line by number and keeps nothing of the stream', async () => {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    await expectError(await t.request('POST', '/v1/runs', line('a'), ndjson), 400, 'invalid_request', /\?endpoint= is required/);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), '{not json', line('c')].join('\n'), ndjson), 400, 'invalid_json_line', /line 2/);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('b', { url: '/v1/embeddings' })].join('\n'), ndjson), 400, 'endpoint_mismatch', /url on line 2 is "\/v1\/embeddings"/);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), '', line('b'), line('a')].join('\n'), ndjson), 400, 'duplicate_custom_id', /custom_id on line 4 "a" repeats line 1's/);
    await expectError(
      await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('b', { body: { model: 'other', messages: [] } })].join('\n'), ndjson),
      400,
      'multiple_models',
      /body\.model on line 2 is "other"/,
    );
    // A field of a line is named as the line's field, not glued to the line number.
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('')].join('\n'), ndjson), 400, 'invalid_request_line', /^custom_id on line 2: /);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), '[1]'].join('\n'), ndjson), 400, 'invalid_request_line', /^line 2: /);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', '\n\n', ndjson), 400, 'invalid_request', /no request lines/);
    // The keys a JSON body is refused for are refused in a line too, however the key is spelt.
    await expectError(
      await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), line('b', { body: JSON.parse('{"model":"gpt-4o-mini","messages":[],"__proto__":{"admin":true}}') as unknown })].join('\n'), ndjson),
      400,
      'forbidden_key',
      /^line 2 has a "__proto__" key/,
    );
    await expectError(
      await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), '{"custom_id":"b","\\u005f_proto__":{"admin":true}}'].join('\n'), ndjson),
      400,
      'forbidden_key',
      /^line 2 /,
    );
    await expectError(
      await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', line('a', { body: { model: 'gpt-4o-mini', messages: [], constructor: { prototype: { admin: true } } } }), ndjson),
      400,
      'forbidden_key',
      /^line 1 has a "__proto__" key or a "constructor" holding a "prototype"/,
    );
    // Nothing was recorded or left on storage by any refused request.
    const listed = await t.request('GET', '/v1/runs');
    assert.deepEqual((listed.body as { data: unknown[] }).data, []);
    const leftovers = await readdir(path.join(t.storageDir, 'data'), { recursive: true }).catch(() => []);
    assert.deepEqual(leftovers.filter((entry) => entry.endsWith('.jsonl') || entry.endsWith('.ndjson')), []);
    const work = await readdir(path.join(t.storageDir, 'work')).catch(() => []);
    assert.deepEqual(work, []);
  });

  it('refuses JSON nested deeper than the limit, on any route and in an NDJSON line, before anything is stored', async () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    await expectError(
      await t.request('POST', '/v1/runs', `{"template":{"type":"summarize"},"items":[{"id":"a","text":"x","n":${nested(5000)}}]}`),
      400,
      'too_deep',
      new RegExp(`the body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`),
    );
    await expectError(await t.request('PUT', '/v1/pipelines/deep', `{"template":{"type":"summarize","body":{"n":${nested(5000)}}}}`), 400, 'too_deep');
    await expectError((await t.request('GET', '/v1/pipelines/deep')), 404, 'not_found');
    const deepLine = line('b', { body: { model: 'gpt-4o-mini', messages: [], n: JSON.parse(nested(MAX_JSON_DEPTH)) as unknown } });
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), deepLine].join('\n'), { 'content-type': 'application/x-ndjson' }), 400, 'too_deep', /^line 2 nests/);
    // The limit itself is allowed: a body exactly that deep reaches the route (which finds no definition in it).
    await expectError(await t.request('PUT', '/v1/pipelines/none', nested(MAX_JSON_DEPTH)), 400, 'invalid_pipeline');
    await expectError(await t.request('PUT', '/v1/pipelines/none', nested(MAX_JSON_DEPTH + 1)), 400, 'too_deep');
  });

  it('takes an empty body on routes that take none, whatever its Content-Type; routes that need one still refuse it', async () => {
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/xml']) {
      const headers = { 'content-type': contentType };
      await expectError(await t.request('DELETE', '/v1/pipelines/none', '', headers), 404, 'not_found', /pipeline none/);
      await expectError(await t.request('POST', '/v1/runs/run_none/cancel', '', headers), 404, 'not_found', /run run_none/);
      await expectError(await t.request('POST', '/v1/pipelines/none/trigger', '', headers), 404, 'not_found');
    }
    await expectError(await t.request('POST', '/v1/runs', ''), 400, 'invalid_json', /empty/);
    await expectError(await t.request('PUT', '/v1/pipelines/empty', ''), 400, 'invalid_json', /empty/);
  });

  it('refuses bad list filters and repeated or unknown query parameters, saying which', async () => {
    await expectError(await t.request('GET', '/v1/runs?before=garbage'), 400, 'invalid_request', /querystring.before: not a run id/);
    await expectError(await t.request('GET', '/v1/runs?before=run_unknown'), 400, 'invalid_request', /before: run run_unknown is not among the runs listed/);
    await expectError(await t.request('GET', '/v1/runs?pipeline=a%20b'), 400, 'invalid_request', /querystring.pipeline: must be 1-64 letters/);
    await expectError(await t.request('GET', '/v1/runs?limit=1&limit=2'), 400, 'invalid_request', /^querystring: limit is given more than once$/);
    await expectError(await t.request('GET', '/v1/runs?pipeline=a&pipeline=b'), 400, 'invalid_request', /pipeline is given more than once/);
    await expectError(await t.request('GET', '/v1/runs?colour=red'), 400, 'invalid_request', /^querystring: unknown field "colour"$/);
    const listed = await t.request('GET', '/v1/runs?pipeline=good-id&limit=5');
    assert.equal(listed.status, 200, listed.text);
    // limit is plain digits from 1 to 100; absent or blank is the default.
    for (const limit of ['1e1', '%205', '5%20', '0x10', '-1', '2.0', '0', '101', 'ten']) {
      await expectError(await t.request('GET', `/v1/runs?limit=${limit}`), 400, 'invalid_request', /^querystring\.limit: must be a whole number from 1 to 100 in plain digits \(leave it out or blank for 20\)$/);
    }
    for (const query of ['limit=', 'limit=100', 'limit=007', '']) {
      const page = await t.request('GET', `/v1/runs?${query}`);
      assert.equal(page.status, 200, `${query}: ${page.text}`);
    }
  });

  it('refuses unknown query parameters on every /v1 route, in the same words', async () => {
    const unknown = /^querystring: unknown field "x"$/;
    for (const [method, url] of [
      ['GET', '/v1/runs/run_abc?x=1'],
      ['GET', '/v1/runs/run_abc/results?x=1'],
      ['POST', '/v1/runs/run_abc/cancel?x=1'],
      ['GET', '/v1/pipelines?x=1'],
      ['GET', '/v1/pipelines/p?x=1'],
      ['DELETE', '/v1/pipelines/p?x=1'],
      ['POST', '/v1/pipelines/p/trigger?x=1'],
    ] as const) {
      await expectError(await t.request(method, url), 400, 'invalid_request', unknown);
    }
    await expectError(await t.request('PUT', '/v1/pipelines/p?x=1', { template: { type: 'summarize' } }), 400, 'invalid_request', unknown);
    await expectError(await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions&x=1', line('a'), { 'content-type': 'application/x-ndjson' }), 400, 'invalid_request', unknown);
    await expectError(await t.request('GET', '/v1/pipelines/p'), 404, 'not_found');
    await expectError(await t.request('GET', '/v1/runs/run_abc'), 404, 'not_found');
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

describe('a request line longer than one shard can hold is refused when the run is posted', () => {
  // A small shard limit stands in for the 199 MB one: the bound is the same rule, and the test stays light.
  const shardMaxBytes = 4096;
  const maxLineBytes = shardMaxBytes - 1;
  let t: TestService;
  before(async () => {
    t = await startTestService({ tuning: { shardMaxBytes } });
  });
  after(async () => {
    await t.close();
  });

  const errorOf = (response: { body: unknown }) => (response.body as { error?: { code?: string; message?: string } }).error;
  const padded = (custom_id: string, bytes: number) => {
    const bare = line(custom_id, { body: { model: 'gpt-4o-mini', messages: [], pad: '' } });
    return line(custom_id, { body: { model: 'gpt-4o-mini', messages: [], pad: 'x'.repeat(bytes - Buffer.byteLength(bare)) } });
  };

  it('as an NDJSON line or a request of the JSON form, with 413 naming the line and the limit, storing nothing', async () => {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    const refused = await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', [line('a'), padded('b', maxLineBytes + 1), line('c')].join('\n'), ndjson);
    assert.equal(refused.status, 413, refused.text);
    assert.equal(errorOf(refused)?.code, 'request_line_too_large');
    assert.match(errorOf(refused)?.message ?? '', new RegExp(`^line 2 is larger than ${maxLineBytes} bytes`));

    const json = await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests: [JSON.parse(line('a')), JSON.parse(padded('b', maxLineBytes + 1))] });
    assert.equal(json.status, 413, json.text);
    assert.equal(errorOf(json)?.code, 'request_line_too_large');
    assert.match(errorOf(json)?.message ?? '', new RegExp(`^requests\\[1\\] is larger than ${maxLineBytes} bytes`));

    const listed = await t.request('GET', '/v1/runs');
    assert.deepEqual((listed.body as { data: unknown[] }).data, []);
    assert.deepEqual(await readdir(path.join(t.storageDir, 'work')).catch(() => []), []);

    // A line of exactly the limit fits its shard.
    const fits = await t.request('POST', '/v1/runs?endpoint=/v1/chat/completions', padded('a', maxLineBytes), ndjson);
    assert.equal(fits.status, 202, fits.text);
  });

  it('answers while the line is still arriving and closes the connection, instead of reading the rest', async () => {
    const url = new URL(`${t.service.url ?? ''}/v1/runs?endpoint=/v1/chat/completions`);
    const total = 64 * 1024 * 1024;
    const answer = await new Promise<{ status: number | undefined; connection: string | undefined; sentBefore: number; body: string }>((resolve, reject) => {
      let sent = 0;
      const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (response) => {
        const sentBefore = sent;
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => (body += text));
        response.on('end', () => resolve({ status: response.statusCode, connection: response.headers.connection, sentBefore, body }));
      });
      // Once the server has answered and closed, the writes still queued fail: that is the point.
      request.on('error', (error) => (sent < total ? undefined : reject(error)));
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const pump = (): void => {
        while (sent < total && !request.destroyed) {
          sent += chunk.length;
          if (!request.write(chunk)) return void request.once('drain', pump);
        }
        request.end();
      };
      request.write('{"custom_id":"a","pad":"');
      pump();
    });
    assert.equal(answer.status, 413, answer.body);
    assert.match(answer.body, /request_line_too_large/);
    assert.equal(answer.connection, 'close');
    assert.ok(answer.sentBefore < total, `answered after ${answer.sentBefore} of ${total} bytes`);
  });
});
