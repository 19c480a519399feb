import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../../src/lib/api-error.js';
import { parseRunBody } from '../../../src/runs/run-request.js';

const request = (custom_id: string, overrides: Record<string, unknown> = {}) => ({
  custom_id,
  method: 'POST',
  url: '/v1/chat/completions',
  body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
  ...overrides,
});

function rejects(body: unknown, code: string, message: RegExp): void {
  assert.throws(
    () => parseRunBody(body),
    (error: unknown) => {
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.statusCode, 400);
      assert.equal(error.code, code);
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('POST /v1/runs body validation', () => {
  it('refuses a body that is not an object or names no form', () => {
    rejects([1, 2], 'invalid_request', /JSON object/);
    rejects('text', 'invalid_request', /JSON object/);
    rejects({ items: [{}] }, 'invalid_request', /"template" and "items"/);
  });

  it('refuses a body that mixes two forms, naming both', () => {
    rejects({ template: { type: 'summarize' }, endpoint: '/v1/chat/completions', items: [{ id: 'a', text: 'x' }] }, 'invalid_request', /names "template", "endpoint", "items".*not a mix/);
    rejects({ pipeline: 'p', template: { type: 'summarize' }, items: [{ id: 'a', text: 'x' }] }, 'invalid_request', /names "template", "pipeline", "items"/);
    rejects({ endpoint: '/v1/chat/completions', items: [{ id: 'a' }] }, 'invalid_request', /names "endpoint", "items".*not a mix/);
    rejects({ items: [{ id: 'a' }], requests: [] }, 'invalid_request', /names "items", "requests"/);
  });

  it('refuses unknown fields instead of dropping them', () => {
    rejects({ template: { type: 'summarize' }, items: [{ text: 'a' }], colour: 'red' }, 'invalid_request', /unknown field "colour"/);
    rejects({ template: { type: 'summarize', temperature: 1 }, items: [{ text: 'a' }] }, 'invalid_request', /template: unknown field "temperature"/);
    rejects({ endpoint: '/v1/chat/completions', requests: [{ ...request('a'), extra: true }] }, 'invalid_request_line', /requests\[0\]: unknown field "extra"/);
  });

  it('refuses wrong types and empty item lists', () => {
    rejects({ template: { type: 'summarize' }, items: [] }, 'invalid_request', /items: must hold at least one item/);
    rejects({ template: { type: 'summarize' }, items: 'abc' }, 'invalid_request', /items: /);
    rejects({ template: { type: 'chat', model: 5, prompt: 'x' }, items: [{}] }, 'invalid_request', /template.model/);
    rejects({ endpoint: '/v1/chat/completions', requests: [] }, 'invalid_request', /requests: must hold at least one request/);
    rejects({ endpoint: '/v1/nope', requests: [request('a')] }, 'invalid_request', /endpoint/);
    rejects({ endpoint: '/v1/chat/completions', requests: [request('a', { method: 'GET' })] }, 'invalid_request_line', /requests\[0\].method/);
  });

  it('refuses duplicate custom_ids, a foreign url and a second model', () => {
    rejects({ endpoint: '/v1/chat/completions', requests: [request('a'), request('b'), request('a')] }, 'duplicate_custom_id', /requests\[2\].custom_id "a" repeats requests\[0\]'s/);
    rejects({ endpoint: '/v1/chat/completions', requests: [request('a'), request('b', { url: '/v1/embeddings' })] }, 'endpoint_mismatch', /requests\[1\].url is "\/v1\/embeddings"/);
    rejects(
      { endpoint: '/v1/chat/completions', requests: [request('a'), request('b', { body: { model: 'gpt-4o', messages: [] } })] },
      'multiple_models',
      /requests\[1\].body.model is "gpt-4o" but earlier requests use "gpt-4o-mini"/,
    );
  });

  it('refuses an item id that is not a non-empty string or a number, naming the item', () => {
    for (const id of [{ a: 1 }, true, '', null, [1]]) {
      rejects({ template: { type: 'summarize' }, items: [{ id: 'ok', text: 'x' }, { id, text: 'x' }] }, 'invalid_request', /^items\[1\]\.id must be a non-empty string or a number/);
    }
    rejects({ template: { type: 'summarize', id_field: 'slug' }, items: [{ slug: { a: 1 }, text: 'x' }] }, 'invalid_request', /^items\[0\]\.slug must be/);
    rejects({ template: { type: 'chat', model: 'm', prompt: 'Hi' }, items: [{ custom_id: 5 }] }, 'invalid_request', /^items\[0\]\.custom_id must be a non-empty string/);
    assert.equal(parseRunBody({ template: { type: 'summarize' }, items: [{ id: 0, text: 'x' }, { id: 'a', text: 'y' }, { text: 'z' }] }).kind, 'template');
  });

  it('says truthfully how an id clashes with one batchline gave an item without an id', () => {
    rejects({ template: { type: 'summarize' }, items: [{ text: 'x' }, { id: 'item-0', text: 'y' }] }, 'duplicate_custom_id', /items\[1\]'s id "item-0" is the id items\[0\] was given \(it has no id of its own, and items without an id are named item-<position>\)/);
    rejects({ template: { type: 'summarize' }, items: [{ id: 'item-1', text: 'x' }, { text: 'y' }] }, 'duplicate_custom_id', /items\[1\] has no id of its own and would be named "item-1" \(items without an id are named item-<position>\), the id of items\[0\]/);
  });

  it('refuses items that share an id or lack a placeholder', () => {
    rejects({ template: { type: 'summarize' }, items: [{ id: 'x', text: 'a' }, { id: 'x', text: 'b' }] }, 'duplicate_custom_id', /items\[1\] and items\[0\] share the id "x"/);
    rejects({ template: { type: 'chat', model: 'm', prompt: 'Tell me about {{topic}}' }, items: [{ topic: 'a' }, { subject: 'b' }] }, 'missing_field', /items\[1\] has no field "topic"/);
  });

  it('refuses POSTed items without the content their template reads: nothing could ever be read for them', () => {
    rejects({ template: { type: 'summarize' }, items: [{ id: 'a', text: 'x' }, { id: 'b' }] }, 'missing_field', /items\[1\] has no "text" field/);
    rejects({ template: { type: 'summarize' }, items: [{ id: 'a', text: null }] }, 'missing_field', /items\[0\] has no "text" field/);
    rejects({ template: { type: 'summarize', field: 'doc.body' }, items: [{ id: 'a', doc: { title: 't' } }] }, 'missing_field', /has no "doc.body" field/);
    // A key names an object of a pipeline's source, which a POSTed run does not have.
    rejects({ template: { type: 'image-moderation' }, items: [{ key: 'photos/cat.png' }] }, 'missing_field', /items\[0\] has no "image_base64" or "image_url"/);
    rejects({ template: { type: 'summarize' }, items: [{ id: 'a', text: '  ' }] }, 'missing_field', /items\[0\] has an empty "text"/);
    rejects({ template: { type: 'summarize' }, items: [{ id: 'a', text: 42 }] }, 'missing_field', /"text" that is a number, not the article's text/);
    rejects({ template: { type: 'image-moderation' }, items: [{ id: 'a', image_base64: '' }] }, 'missing_field', /not a non-empty string/);
    assert.equal(parseRunBody({ template: { type: 'summarize', field: 'doc.body' }, items: [{ id: 'a', doc: { body: 'text' } }] }).kind, 'template');
    assert.equal(parseRunBody({ template: { type: 'image-moderation' }, items: [{ id: 'a', image_url: 'https://example.com/a.png' }, { id: 'b', image_base64: 'iVBORw0KGgo=' }] }).kind, 'template');
  });

  it('holds metadata to OpenAI\'s bounds less the pairs batchline writes, and keeps its prefix out', () => {
    const body = (metadata: Record<string, string>) => ({ template: { type: 'summarize' }, items: [{ id: 'a', text: 'x' }], metadata });
    const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    assert.deepEqual(parseRunBody(body(pairs(12))).metadata, pairs(12));
    rejects(body(pairs(13)), 'invalid_request', /at most 12 pairs \(batchline adds 4 of OpenAI's 16\)/);
    rejects(body({ ['k'.repeat(65)]: 'v' }), 'invalid_request', /Invalid key/);
    rejects(body({ k: 'v'.repeat(513) }), 'invalid_request', /<=512 characters/);
    rejects(body({ batchline_run: 'mine' }), 'invalid_request', /metadata\.batchline_run/);
  });

  it('accepts each valid form', () => {
    assert.equal(parseRunBody({ template: { type: 'summarize' }, items: [{ id: 'a', text: 'x' }] }).kind, 'template');
    assert.equal(parseRunBody({ pipeline: 'p1', items: [{ id: 'a' }] }).kind, 'pipeline');
    const requests = parseRunBody({ endpoint: '/v1/chat/completions', requests: [request('a'), request('b')] });
    assert.equal(requests.kind, 'requests');
    assert.equal(requests.kind === 'requests' ? requests.model : null, 'gpt-4o-mini');
  });
});
