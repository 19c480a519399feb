import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultJobOptions, keptJobs, stageBackoffStrategy } from '../../../src/queues/queue-options.js';

describe('stage retry options', () => {
  it('doubles the delay per attempt, jittered down by at most half', async () => {
    const lowest = stageBackoffStrategy('poll', () => 0);
    const highest = stageBackoffStrategy('poll', () => 0.999_999);
    assert.equal(await lowest(1), 2_500);
    assert.equal(await lowest(3), 10_000);
    assert.ok((await highest(1)) <= 5_000 && (await highest(1)) >= 4_999);
    assert.equal(await stageBackoffStrategy('submit', () => 0)(2), 2_000);
  });

  it('stores only attempts and a short backoff name in each job', () => {
    // What BullMQ writes into every job hash (the queue defaults merged into the job's own options).
    const stored = JSON.stringify(defaultJobOptions.poll);
    assert.equal(stored, '{"attempts":10,"backoff":{"type":"stage"}}');
    assert.deepEqual(keptJobs.removeOnComplete, { age: 7 * 24 * 3600, count: 5000 });
  });
});
