import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTestService } from '../helpers/test-service.js';

describe('a worker process configured by BATCHLINE_QUEUES and BATCHLINE_CONCURRENCY', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it('runs only the stages named, each with its configured concurrency, the others with their defaults', async () => {
    const test = await startTestService({ redis, role: 'worker', env: { BATCHLINE_QUEUES: 'submit,poll,notify', BATCHLINE_CONCURRENCY: 'poll=7,build=9' } });
    try {
      const workers = test.service.workers?.workers ?? [];
      assert.deepEqual(workers.map((worker) => worker.name), ['submit', 'poll', 'notify']);
      const concurrency = Object.fromEntries(workers.map((worker) => [worker.name, worker.concurrency]));
      assert.deepEqual(concurrency, { submit: 4, poll: 7, notify: 4 });
    } finally {
      await test.close();
    }
  });

  it('runs every stage when BATCHLINE_QUEUES is unset', async () => {
    const test = await startTestService({ redis, role: 'worker' });
    try {
      assert.deepEqual(test.service.workers?.workers.map((worker) => worker.name), ['collect', 'build', 'submit', 'poll', 'results', 'notify']);
    } finally {
      await test.close();
    }
  });
});
