import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DelayedError, type Job } from 'bullmq';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';
import type { QueueName } from '../../src/queues/queue-names.js';
import { createResultsProcessor } from '../../src/processors/results-processor.js';
import { storageKeys } from '../../src/runs/storage-keys.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('every stage is safe to run twice', () => {
  let t: TestService;
  const calls = new Map<QueueName, number>();
  before(async () => {
    t = await startTestService({
      workerOptions: {
        // Each job's processor runs a second time right after the first, as a redelivery would.
        wrapProcessor: (name, processor) => async (job: Job, token?: string) => {
          calls.set(name, (calls.get(name) ?? 0) + 1);
          await processor(job, token);
          try {
            await processor(job, token);
          } catch (error) {
            // A second poll of a batch that is still running reschedules the job again: that is the same end state.
            if (!(error instanceof DelayedError)) throw error;
            throw error;
          }
        },
      },
    });
  });
  after(async () => {
    await t.close();
  });

  it('twice-run processors give one batch per shard, one result per request and one Slack message', async () => {
    const items = Array.from({ length: 12 }, (_, index) => ({ id: `doc${index}`, text: `Document ${index} talks about topic ${index}. It is short.` }));
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    assert.equal(run.status, 'succeeded');
    for (const stage of ['build', 'submit', 'poll', 'results', 'notify'] as const) assert.ok((calls.get(stage) ?? 0) >= 1, `${stage} ran`);
    assert.equal(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }).length, 1);
    assert.equal(t.emulator.ledger.files().filter((file) => file.purpose === 'batch' && file.filename.includes(run.id)).length, 1);
    const lines = (await t.request('GET', `/v1/runs/${run.id}/results`)).text.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 12);
    // Give a late second post every chance to show up before counting: the claim makes it impossible, not unlikely.
    await t.slack.waitFor((text) => text.includes(run.id));
    assert.equal(t.slack.messages.filter((message) => message.body.text?.includes(run.id)).length, 1);
  });

  it('results written again after a crash before the ledger write have the same bytes', async () => {
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ id: 'x', text: 'One. Two.' }, { id: 'y', text: 'Three. Four.' }] });
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    const { deps } = t.service;
    const resultsKey = storageKeys.shardResults(run.id, 0, 0);
    const pathOf = (key: string) => fileURLToPath(deps.storage.urlOf(key));
    const first = sha256(await readFile(pathOf(resultsKey)));
    // As if the worker died after writing the results but before recording them.
    await deps.ledger.updateShard(run.id, 0, { step: ['stored'] }, { step: 'terminal' });
    const job = { data: { runId: run.id, shard: 0, generation: 0 }, updateProgress: async () => undefined } as unknown as Job<{ runId: string; shard: number; generation: number }>;
    await createResultsProcessor(deps)(job);
    assert.equal(sha256(await readFile(pathOf(resultsKey))), first);
    assert.equal((await deps.ledger.getShard(run.id, 0))?.step, 'stored');
  });
});
