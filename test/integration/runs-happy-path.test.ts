import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';

interface ResultLineShape {
  custom_id: string;
  item: Record<string, unknown> | null;
  status_code: number | null;
  output: { text: string | null } | null;
  error: { code: string; message: string } | null;
}

const parseNdjson = (text: string): ResultLineShape[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ResultLineShape);

describe('a run goes from POST to Slack', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(async () => {
    await t.close();
  });

  it('template + items: summaries joined back to the article ids, one Slack message', async () => {
    const items = [
      { id: 'a1', text: 'Bees pollinate most crops. Without them yields fall sharply.' },
      { id: 'a2', text: 'The city opened a new library. It has a rooftop garden.' },
      { id: 'a3', text: 'Rain is expected all week. Farmers welcome the change.' },
    ];
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items });
    assert.equal(posted.status, 202, posted.text);
    const accepted = posted.body as RunView;
    assert.match(accepted.id, /^run_/);
    assert.equal(accepted.counts.items, 3);

    const run = await t.waitForRunEnd(accepted.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.deepEqual(run.counts, { items: 3, requests: 3, succeeded: 3, failed: 0 });
    assert.equal(run.batches.length, 1);
    assert.equal(run.batches[0]?.status, 'completed');
    assert.ok(run.results_url?.startsWith('file://'));

    const results = await t.request('GET', `/v1/runs/${accepted.id}/results`);
    assert.equal(results.status, 200);
    const lines = parseNdjson(results.text);
    assert.deepEqual(lines.map((line) => line.custom_id).sort(), ['a1', 'a2', 'a3']);
    for (const line of lines) {
      assert.equal(line.status_code, 200);
      assert.equal(line.error, null);
      assert.deepEqual(line.item, { id: line.custom_id });
      const source = items.find((item) => item.id === line.custom_id);
      assert.ok(source !== undefined);
      // The emulator's summary is derived from the article's first sentence.
      assert.ok(line.output?.text?.includes(source.text.split('.')[0] ?? '-'), `${line.output?.text} should echo ${source.text}`);
    }

    const message = await t.slack.waitFor((text) => text.includes(accepted.id));
    assert.match(message, /succeeded: 3 of 3 items succeeded, 0 failed/);
    assert.equal(t.slack.messages.filter((m) => m.body.text?.includes(accepted.id)).length, 1);
  });

  it('endpoint + requests: raw request lines run as given', async () => {
    const requests = ['x', 'y'].map((id) => ({
      custom_id: id,
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Say ${id}. Then stop.` }] },
    }));
    const posted = await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.model, 'gpt-4o-mini');
    const lines = parseNdjson((await t.request('GET', `/v1/runs/${run.id}/results`)).text);
    assert.deepEqual(lines.map((line) => line.custom_id).sort(), ['x', 'y']);
    assert.ok(lines.every((line) => line.item === null && typeof line.output?.text === 'string'));
  });

  it('NDJSON stream of request lines', async () => {
    const body = Array.from({ length: 25 }, (_, index) =>
      JSON.stringify({ custom_id: `n${index}`, method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: `text ${index}` } }),
    ).join('\n');
    const posted = await t.request('POST', '/v1/runs?endpoint=/v1/embeddings', body, { 'content-type': 'application/x-ndjson' });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.counts.requests, 25);
    const lines = parseNdjson((await t.request('GET', `/v1/runs/${run.id}/results`)).text);
    assert.equal(lines.length, 25);
    assert.equal(new Set(lines.map((line) => line.custom_id)).size, 25);
  });

  it('lists runs newest first and filters by status', async () => {
    const listed = await t.request('GET', '/v1/runs?limit=2');
    assert.equal(listed.status, 200);
    const page = listed.body as { data: RunView[]; has_more: boolean; next_before: string | null };
    assert.equal(page.data.length, 2);
    assert.ok(page.data[0]!.created_at >= page.data[1]!.created_at);
    assert.equal(page.has_more, true);
    const next = (await t.request('GET', `/v1/runs?limit=2&before=${page.next_before}`)).body as { data: RunView[] };
    assert.equal(next.data.length, 1);
    const succeeded = (await t.request('GET', '/v1/runs?status=succeeded')).body as { data: RunView[] };
    assert.equal(succeeded.data.length, 3);
    const failed = (await t.request('GET', '/v1/runs?status=failed')).body as { data: RunView[] };
    assert.equal(failed.data.length, 0);
  });

  it('template + items: an item without an id is named by its position, never echoed whole', async () => {
    const article = 'Tides follow the moon. '.repeat(20);
    const items = [{ text: article, title: 'Tides' }, { id: 'b2', text: 'Snow closed the pass. Traffic waits.' }];
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const lines = parseNdjson((await t.request('GET', `/v1/runs/${run.id}/results`)).text);
    assert.deepEqual(
      lines.map((line) => [line.custom_id, line.item]).sort(),
      [
        ['b2', { id: 'b2' }],
        ['item-0', { index: 0 }],
      ],
    );
  });
});
