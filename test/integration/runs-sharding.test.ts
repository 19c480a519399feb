import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';

describe('a run larger than one batch', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService();
  });
  after(async () => {
    await t.close();
  });

  it('splits 50,001 requests into two shards of at most 50,000 and joins every result back', async () => {
    const total = 50_001;
    const lines: string[] = [];
    for (let index = 0; index < total; index += 1) {
      lines.push(JSON.stringify({ custom_id: `q${index}`, method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: `w${index}` } }));
    }
    const posted = await t.request('POST', '/v1/runs?endpoint=/v1/embeddings', lines.join('\n'), { 'content-type': 'application/x-ndjson' });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id, 120_000);
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    assert.deepEqual(
      run.batches.map((batch) => batch.request_counts?.total),
      [50_000, 1],
    );
    assert.deepEqual(run.counts, { items: total, requests: total, succeeded: total, failed: 0 });
    // One batch per shard at OpenAI.
    const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
    assert.equal(batches.length, 2);
    const results = await t.request('GET', `/v1/runs/${run.id}/results`);
    const seen = new Set<string>();
    for (const line of results.text.split('\n')) {
      if (line === '') continue;
      const parsed = JSON.parse(line) as { custom_id: string; status_code: number };
      assert.equal(parsed.status_code, 200);
      seen.add(parsed.custom_id);
    }
    assert.equal(seen.size, total);
  });
});
