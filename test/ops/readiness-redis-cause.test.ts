import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startTestService, type TestService } from '../helpers/test-service.js';

/** Kills the service's Redis and waits until its client has been refused once (it reconnects on its own). */
async function killRedis(t: TestService): Promise<void> {
  await t.redis.kill();
  for (;;) {
    const [error] = (await once(t.service.deps.redis, 'error')) as [NodeJS.ErrnoException];
    if (error.code === 'ECONNREFUSED') return;
  }
}

/** Starts an API, checks `url` answers 200, kills its Redis, then hands the service to `whenGone`. */
async function afterRedisDies(url: string, whenGone: (t: TestService) => Promise<void>): Promise<void> {
  const t = await startTestService({ role: 'api' });
  try {
    assert.equal((await t.request('GET', url)).status, 200);
    await killRedis(t);
    await whenGone(t);
  } finally {
    await t.close();
  }
}

describe('/readyz when Redis goes away', () => {
  it('says what happened to the connection, not that a stream is not writeable', async () => {
    await afterRedisDies('/readyz', async (t) => {
      const gone = await t.request('GET', '/readyz');
      assert.equal(gone.status, 503);
      assert.deepEqual(gone.body, { status: 'unavailable', redis: `connection refused at 127.0.0.1:${t.redis.port}`, persistence: 'unknown', eviction: 'unknown' });
    });
  });

  it('Bull Board\'s own API answers 503 in the API\'s error shape, quoting nothing of ioredis', async () => {
    await afterRedisDies('/admin/queues/api/queues', async (t) => {
      const gone = await t.request('GET', '/admin/queues/api/queues');
      assert.equal(gone.status, 503, gone.text);
      assert.deepEqual(gone.body, { error: { code: 'unavailable', message: 'the queue store (Redis) is unavailable; try again shortly' } });
      // The page itself needs no Redis and is still served.
      assert.equal((await t.request('GET', '/admin/queues')).status, 200);
    });
  });
});
