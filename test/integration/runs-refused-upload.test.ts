import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { Job, QueueEvents } from 'bullmq';
import { MAX_BATCH_FILE_BYTES } from '../../src/lib/batch-limits.js';
import { jobIds } from '../../src/queues/job-ids.js';
import { enqueue } from '../../src/queues/stage-queues.js';
import { newRunId } from '../../src/runs/new-run-id.js';
import { newShardRecord } from '../../src/runs/run-record.js';
import { storageKeys } from '../../src/runs/storage-keys.js';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';

describe('an upload OpenAI refuses for good', () => {
  let t: TestService;
  before(async () => {
    // The emulator answers 401 to a wrong key, as OpenAI does.
    t = await startTestService({ env: { OPENAI_API_KEY: 'sk-wrong-key' } });
  });
  after(async () => {
    await t.close();
  });

  it('ends the run failed with the reason, every request accounted for, and no retry loop', async () => {
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ id: 'a', text: 'One. Two.' }, { id: 'b', text: 'Three.' }] });
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /upload_failed/);
    const lines = (await t.request('GET', `/v1/runs/${run.id}/results`)).text.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 2);
    assert.equal(t.emulator.ledger.batches().length, 0);
    const submitJob = await t.service.deps.queues.submit.getJob(`submit-${run.id}-s0-g0`);
    assert.equal(submitJob?.attemptsMade, 1);
  });
});

describe('a shard file over OpenAI\'s batch file limit', () => {
  let t: TestService;
  let events: QueueEvents;
  before(async () => {
    // Submit only: the shard file here is a sparse stand-in, not lines the results stage could read.
    t = await startTestService({ env: { BATCHLINE_QUEUES: 'submit' } });
    events = new QueueEvents('submit', { connection: { url: t.redis.url }, prefix: t.prefix });
    await events.waitUntilReady();
  });
  after(async () => {
    await events.close();
    await t.close();
  });

  it('fails its shard at once, without a retry and without naming a server path', async () => {
    const { deps } = t.service;
    const now = new Date().toISOString();
    const runId = newRunId();
    const bytes = MAX_BATCH_FILE_BYTES + 1;
    await deps.ledger.createRun({
      id: runId, pipeline_id: null, phase: 'sharded', created_at: now, updated_at: now, finished_at: null, input_kind: 'requests',
      endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', template: null, items: 1, rejected: 0, shard_count: 1, cancel_requested: false,
      error: null, results_url: null, errors_url: null, source: null, slack_webhook_url: null, metadata: null, output_url: null,
    });
    await deps.ledger.addShard(runId, newShardRecord({ shard: 0, model: 'gpt-4o-mini', requests: 1, bytes, estimated_tokens: 10 }));
    assert.ok(deps.storage instanceof LocalStorage);
    const file = deps.storage.pathOf(storageKeys.shardRequests(runId, 0, 0));
    await mkdir(path.dirname(file), { recursive: true });
    // Sparse: the size is what counts, and it costs no disk.
    const handle = await open(file, 'w');
    await handle.truncate(bytes);
    await handle.close();

    const ref = { runId, shard: 0, generation: 0 };
    await enqueue(deps.queues, 'submit', ref, { jobId: jobIds.submit(ref) });
    const job = await Job.fromId(deps.queues.submit, jobIds.submit(ref));
    assert.ok(job !== undefined);
    await job.waitUntilFinished(events, 30_000);

    const shard = await deps.ledger.getShard(runId, 0);
    assert.equal(shard?.step, 'terminal');
    assert.equal(shard?.error?.code, 'upload_failed');
    assert.match(shard?.error?.message ?? '', /is 209715201 bytes; OpenAI accepts batch files up to 209715200 bytes/);
    assert.ok(!(shard?.error?.message ?? '').includes(t.storageDir), shard?.error?.message);
    assert.equal((await Job.fromId(deps.queues.submit, jobIds.submit(ref)))?.attemptsMade, 1);
    assert.deepEqual(t.emulator.ledger.files(), []);
  });
});
