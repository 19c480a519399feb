import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
