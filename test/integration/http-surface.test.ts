import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { startTestService, type TestService } from '../helpers/test-service.js';

const line = (custom_id: string, content = 'hi') =>
  JSON.stringify({ custom_id, method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content }] } });

interface ErrorBody {
  error?: { code?: string; message?: string };
}

describe('the HTTP surface answers every refusal in the one error shape', () => {
  let t: TestService;
  let app: FastifyInstance;
  before(async () => {
    t = await startTestService();
    assert.ok(t.service.app !== null);
    app = t.service.app;
  });
  after(async () => {
    await t.close();
  });

  /** Injects and checks the status, the code and (if given) the message; returns the message. */
  const expectError = async (options: InjectOptions, status: number, code: string, message?: RegExp): Promise<string> => {
    const response = await app.inject(options);
    assert.equal(response.statusCode, status, response.body);
    const body = JSON.parse(response.body) as ErrorBody;
    assert.deepEqual(Object.keys(body), ['error'], response.body);
    assert.equal(body.error?.code, code, response.body);
    if (message !== undefined) assert.match(body.error?.message ?? '', message);
    return body.error?.message ?? '';
  };

  it('refuses an over-long id and a broken %-escape before routing, without echoing the URL', async () => {
    const longPipeline = 'a'.repeat(200);
    const message = await expectError({ method: 'GET', url: `/v1/pipelines/${longPipeline}` }, 400, 'invalid_pipeline_id', /over 100 characters/);
    assert.ok(!message.includes(longPipeline));
    await expectError({ method: 'DELETE', url: `/v1/pipelines/${longPipeline}` }, 400, 'invalid_pipeline_id');
    const longRun = `run_${'b'.repeat(120)}`;
    assert.ok(!(await expectError({ method: 'GET', url: `/v1/runs/${longRun}` }, 400, 'invalid_request', /run id/)).includes(longRun));
    await expectError({ method: 'GET', url: '/v1/runs/%E0%A4%A' }, 400, 'invalid_request', /not valid: a "%"/);
    // An id at the limit still reaches the route, which judges it itself.
    await expectError({ method: 'GET', url: `/v1/pipelines/${'a'.repeat(100)}` }, 400, 'invalid_pipeline_id', /must be 1-64/);
  });

  it('refuses a body sent to a route that takes none; an empty one is fine', async () => {
    await t.request('PUT', '/v1/pipelines/p1', { source: { type: 'local', path: t.storageDir }, template: { type: 'summarize' } });
    const json = { 'content-type': 'application/json' };
    await expectError({ method: 'POST', url: '/v1/pipelines/p1/trigger', headers: json, payload: '{"x":1}' }, 400, 'invalid_request', /POST \/v1\/pipelines\/:id\/trigger takes no body/);
    await expectError({ method: 'POST', url: '/v1/pipelines/p1/trigger', headers: { 'content-type': 'text/plain' }, payload: 'hi' }, 400, 'invalid_request', /takes no body/);
    await expectError({ method: 'POST', url: '/v1/runs/run_abc/cancel', headers: json, payload: '{}' }, 400, 'invalid_request', /takes no body/);
    await expectError({ method: 'DELETE', url: '/v1/pipelines/p1', headers: { 'content-type': 'application/xml' }, payload: '<x/>' }, 400, 'invalid_request', /takes no body/);
    await expectError({ method: 'GET', url: '/v1/runs', headers: json, payload: '{"limit":1}' }, 400, 'invalid_request', /GET \/v1\/runs takes no body/);
    // A chunked body is announced by its header as surely as by a length.
    await expectError({ method: 'POST', url: '/v1/runs/run_abc/cancel', headers: { ...json, 'transfer-encoding': 'chunked' }, payload: '{"x":1}' }, 400, 'invalid_request', /takes no body/);
    // Nothing, or nothing under a Content-Type, still goes through.
    assert.equal((await app.inject({ method: 'POST', url: '/v1/pipelines/p1/trigger' })).statusCode, 202);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/pipelines/p1/trigger', headers: json, payload: '' })).statusCode, 202);
    assert.equal((await app.inject({ method: 'DELETE', url: '/v1/pipelines/p1', headers: json })).statusCode, 204);
  });

  it('answers text/plain to a JSON route 415, as any other type it does not take', async () => {
    await expectError({ method: 'PUT', url: '/v1/pipelines/p2', headers: { 'content-type': 'text/plain' }, payload: '{"template":{"type":"summarize"}}' }, 415, 'unsupported_media_type', /text\/plain: send application\/json$/);
  });

  it('answers 404, not a 405 naming the very method, for a missing file under a wildcard route', async () => {
    await expectError({ method: 'GET', url: '/docs/static/nope.js' }, 404, 'not_found');
    const post = await app.inject({ method: 'POST', url: '/docs/static/nope.js' });
    assert.equal(post.statusCode, 405);
    assert.match(post.headers['allow'] as string, /GET/);
  });

  it('refuses a compressed body, another charset, and bytes that are not UTF-8', async () => {
    const body = JSON.stringify({ template: { type: 'summarize' }, items: [{ id: 'a', text: 'x' }] });
    await expectError(
      { method: 'POST', url: '/v1/runs', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync(body) },
      415,
      'unsupported_media_type',
      /^unsupported Content-Encoding "gzip": send the body uncompressed$/,
    );
    await expectError({ method: 'POST', url: '/v1/runs', headers: { 'content-type': 'application/json; charset=latin1' }, payload: body }, 415, 'unsupported_media_type', /charset "latin1": send the body as UTF-8/);
    await expectError({ method: 'POST', url: '/v1/runs?endpoint=/v1/chat/completions', headers: { 'content-type': 'application/x-ndjson; charset=ISO-8859-1' }, payload: line('a') }, 415, 'unsupported_media_type', /charset "iso-8859-1"/);
    // "é" in Latin-1 is one byte 0xE9, never valid UTF-8 on its own.
    const latin1Item = Buffer.concat([Buffer.from('{"template":{"type":"summarize"},"items":[{"id":"a","text":"caf'), Buffer.from([0xe9]), Buffer.from('"}]}')]);
    await expectError({ method: 'POST', url: '/v1/runs', headers: { 'content-type': 'application/json' }, payload: latin1Item }, 400, 'invalid_json', new RegExp(`not valid UTF-8 \\(at byte ${latin1Item.indexOf(0xe9)}\\)`));
    // A replacement character spelt out in the body is text like any other; only the bad byte after it is named.
    const spelt = Buffer.concat([Buffer.from('{"a":"\uFFFD'), Buffer.from([0xff]), Buffer.from('"}')]);
    await expectError({ method: 'PUT', url: '/v1/pipelines/p3', headers: { 'content-type': 'application/json' }, payload: spelt }, 400, 'invalid_json', new RegExp(`at byte ${spelt.indexOf(0xff)}\\)`));
    // charset=utf-8 in any spelling is fine.
    assert.equal((await app.inject({ method: 'POST', url: '/v1/runs', headers: { 'content-type': 'application/json; charset="UTF-8"' }, payload: body })).statusCode, 202);
  });

  it('names the NDJSON line that is not UTF-8, in a small body or a long streamed one', async () => {
    const ndjson = { 'content-type': 'application/x-ndjson' };
    const bad = Buffer.concat([Buffer.from(`${line('a')}\n\n`), Buffer.from(line('b', 'caf').slice(0, -4)), Buffer.from([0xe9]), Buffer.from(`"}]}}\n${line('c')}\n`)]);
    await expectError({ method: 'POST', url: '/v1/runs?endpoint=/v1/chat/completions', headers: ndjson, payload: bad }, 400, 'invalid_json_line', /^line 3 is not valid UTF-8/);
    // Many lines, so the stream arrives in several chunks and lines span them; the bad one is far in, and last.
    const good = Array.from({ length: 20_000 }, (_, index) => line(`r${index}`, 'é€😀')).join('\n');
    const late = Buffer.concat([Buffer.from(`${good}\n`), Buffer.from(line('z', 'x').slice(0, -4)), Buffer.from([0xc3]), Buffer.from('"}]}}')]);
    await expectError({ method: 'POST', url: '/v1/runs?endpoint=/v1/chat/completions', headers: ndjson, payload: late }, 400, 'invalid_json_line', /^line 20001 is not valid UTF-8/);
    assert.equal((await app.inject({ method: 'POST', url: '/v1/runs?endpoint=/v1/chat/completions', headers: ndjson, payload: good })).statusCode, 202);
  });

  it('refuses ?endpoint= on a JSON run, and checks it against the list on an NDJSON one', async () => {
    await expectError(
      { method: 'POST', url: '/v1/runs?endpoint=/v1/embeddings', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ endpoint: '/v1/chat/completions', requests: [JSON.parse(line('a'))] }) },
      400,
      'invalid_request',
      /endpoint belongs to the application\/x-ndjson form/,
    );
    await expectError({ method: 'POST', url: '/v1/runs?endpoint=/v1/nope', headers: { 'content-type': 'application/x-ndjson' }, payload: line('a') }, 400, 'invalid_request', /endpoint/);
    await expectError({ method: 'POST', url: '/v1/runs?endpoint=', headers: { 'content-type': 'application/x-ndjson' }, payload: line('a') }, 400, 'invalid_request', /\?endpoint= is required/);
  });

  it('takes a blank query parameter as absent on every one', async () => {
    for (const query of ['status=', 'pipeline=', 'before=', 'limit=', 'status=&pipeline=&before=&limit=']) {
      const response = await app.inject({ method: 'GET', url: `/v1/runs?${query}` });
      assert.equal(response.statusCode, 200, `${query}: ${response.body}`);
    }
    await expectError({ method: 'GET', url: '/v1/runs?status=nope' }, 400, 'invalid_request', /status/);
  });

  it('states the body limit in the 413 of POST /v1/runs', async () => {
    const huge = `{"template":{"type":"summarize"},"items":[{"id":"a","text":"${'x'.repeat(64 * 1024 * 1024)}"}]}`;
    await expectError({ method: 'POST', url: '/v1/runs', headers: { 'content-type': 'application/json' }, payload: huge }, 413, 'body_too_large', /limit of 64 MiB \(67108864 bytes\); send large runs as NDJSON/);
  });

  it("answers a Fastify refusal that has no case of its own in its code's status: a body shorter than its Content-Length", async () => {
    const headers = { 'content-type': 'application/json', 'content-length': '100' };
    await expectError({ method: 'POST', url: '/v1/runs', headers, payload: '{"items":[]}' }, 400, 'invalid_request', /did not match Content-Length/);
  });
});
