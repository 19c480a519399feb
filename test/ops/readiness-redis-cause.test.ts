import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startTestService } from '../helpers/test-service.js';

describe('/readyz when Redis goes away', () => {
  it('says what happened to the connection, not that a stream is not writeable', async () => {
    const t = await startTestService({ role: 'api' });
    try {
      assert.equal((await t.request('GET', '/readyz')).status, 200);
      await t.redis.kill();
      // The client reconnects on its own; wait until it has been refused once.
      for (;;) {
        const [error] = (await once(t.service.deps.redis, 'error')) as [NodeJS.ErrnoException];
        if (error.code === 'ECONNREFUSED') break;
      }
      const gone = await t.request('GET', '/readyz');
      assert.equal(gone.status, 503);
      assert.deepEqual(gone.body, { status: 'unavailable', redis: `connection refused at 127.0.0.1:${t.redis.port}`, persistence: 'unknown', eviction: 'unknown' });
    } finally {
      await t.close();
    }
  });
});
