import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { listRunViews } from '../../src/runs/run-queries.js';
import { newRunId } from '../../src/runs/new-run-id.js';
import type { RunPhase } from '../../src/runs/run-record.js';
import type { RunView } from '../../src/runs/run-view.js';
import { runRecordOf } from '../helpers/run-record.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

interface ListPage {
  data: RunView[];
  has_more: boolean;
  next_before: string | null;
}

describe('a status filter never claims the end of the list before it', () => {
  let t: TestService;
  // Oldest first: two partial runs, then 45 newer succeeded ones (more than the old scan of 20 pages of limit + 1 read).
  const partialIds: string[] = [];
  before(async () => {
    // The API alone: the runs are written to the ledger as ended, and no worker is to touch them.
    t = await startTestService({ role: 'api' });
    const start = Date.parse('2024-01-01T00:00:00Z');
    const phases: RunPhase[] = ['partial', 'partial', ...Array.from({ length: 45 }, (): RunPhase => 'succeeded')];
    for (const [index, phase] of phases.entries()) {
      const at = new Date(start + index * 1000).toISOString();
      const run = runRecordOf({ id: newRunId(start + index * 1000), phase, created_at: at, finished_at: at, shard_count: 0 });
      await t.service.deps.ledger.createRun(run);
      if (phase === 'partial') partialIds.unshift(run.id);
    }
  });
  after(async () => {
    await t.close();
  });

  const page = async (url: string): Promise<ListPage> => {
    const response = await t.request('GET', url);
    assert.equal(response.status, 200, response.text);
    return response.body as ListPage;
  };

  it('finds an older run of the status with limit=1, then reports the real end', async () => {
    const first = await page('/v1/runs?status=partial&limit=1');
    assert.deepEqual(first.data.map((run) => run.id), [partialIds[0]]);
    assert.equal(first.has_more, true);
    const second = await page(`/v1/runs?status=partial&limit=1&before=${first.next_before ?? ''}`);
    assert.deepEqual(second.data.map((run) => run.id), [partialIds[1]]);
    assert.equal(second.has_more, false);
    assert.equal(second.next_before, null);
  });

  it('when the scan bound stops it, answers has_more with a cursor that goes on from the last run read', async () => {
    const query = { status: 'partial' as const, limit: 1 };
    const stopped = await listRunViews(t.service.deps, query, { maxExamined: 10 });
    assert.deepEqual(stopped.data, []);
    assert.equal(stopped.has_more, true);
    // The tenth newest run: the one the scan read last.
    const newest = await page('/v1/runs?limit=10');
    assert.equal(stopped.next_before, newest.data[9]?.id);
    // Following the cursor reaches both partial runs and then, only then, the end.
    const found: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 20; pages += 1) {
      const next = await listRunViews(t.service.deps, { ...query, before: cursor }, { maxExamined: 10 });
      found.push(...next.data.map((run) => run.id));
      if (!next.has_more) break;
      assert.ok(next.next_before !== null);
      cursor = next.next_before;
    }
    assert.deepEqual(found, partialIds);
  });
});
