import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'bullmq';
import { workerConnection } from '../../../src/queues/redis-connection.js';
import { RedisOutageLog } from '../../../src/queues/redis-outage-log.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { startRedis } from '../../helpers/redis-server.js';

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('Redis outage log', () => {
  it('logs a lost connection once, then at most every interval with a count, and once when it is back', () => {
    const logs = captureLogs('info');
    let now = 1_000;
    const outages = new RedisOutageLog(logs.logger, 30_000, () => now);
    // 100 failed attempts over 20 s from several clients: one line.
    for (let attempt = 0; attempt < 100; attempt++) {
      assert.equal(outages.report(refused(), attempt % 2 === 0 ? 'worker:poll' : 'service'), true);
      now += 200;
    }
    assert.equal(logs.lines.length, 1, logs.lines.join('\n'));
    const lost = logs.find('Redis connection lost')[0];
    assert.equal(lost?.['level'], 50);
    assert.equal(lost?.['cause'], 'connection refused');
    assert.equal(lost?.['source'], 'worker:poll');
    // Past the interval, the next attempt says it is still down, and how many attempts failed.
    now = 1_000 + 30_000;
    outages.report(refused(), 'service');
    const still = logs.find('Redis still unreachable');
    assert.equal(still.length, 1);
    assert.equal(still[0]?.['level'], 40);
    assert.equal(still[0]?.['errors'], 101);
    assert.equal(still[0]?.['down_ms'], 30_000);
    outages.report(refused(), 'service');
    assert.equal(logs.find('Redis still unreachable').length, 1, 'not again before the next interval');
    now += 5_000;
    outages.connected();
    const back = logs.find('Redis connection back');
    assert.equal(back.length, 1);
    assert.equal(back[0]?.['level'], 30);
    assert.equal(back[0]?.['errors'], 102);
    assert.equal(back[0]?.['down_ms'], 35_000);
    // Connected again while connected: nothing; a new outage is logged anew.
    outages.connected();
    assert.equal(logs.find('Redis connection back').length, 1);
    outages.report(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'queue:submit');
    assert.equal(logs.find('Redis connection lost').length, 2);
    assert.equal(logs.find('Redis connection lost')[1]?.['cause'], 'connection reset');
    // A write to the socket Redis closed is the same outage, not a worker error of its own.
    assert.equal(outages.report(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'worker:collect'), true);
    assert.equal(logs.find('Redis connection lost').length, 2);
  });

  it('leaves errors that are not about the connection to the caller', () => {
    const logs = captureLogs('info');
    const outages = new RedisOutageLog(logs.logger);
    assert.equal(outages.report(new Error('ERR unknown command'), 'worker:build'), false);
    assert.equal(outages.report(new Error('Connection is closed.'), 'worker:build'), true);
    assert.equal(logs.find('Redis connection lost').length, 1);
  });

  it("ends an outage that only a worker's connections reported when that worker reconnects", async (t) => {
    const redis = await startRedis();
    t.after(() => redis.stop());
    const logs = captureLogs('info');
    const outages = new RedisOutageLog(logs.logger);
    const worker = new Worker('outage-watch', async () => {}, { connection: workerConnection(redis.url), prefix: 'outage-test' });
    t.after(() => worker.close(true));
    const otherErrors: Error[] = [];
    outages.watch(worker, 'worker:outage-watch', (error) => otherErrors.push(error));
    await worker.waitUntilReady();

    // Only the worker's sockets report here (no service client to say "ready"), as when a worker's socket is reset while the service's stays up.
    await redis.kill();
    const lost = await logs.waitFor('Redis connection lost');
    assert.equal(lost['source'], 'worker:outage-watch');
    await redis.restart();
    await logs.waitFor('Redis connection back');
    assert.deepEqual(otherErrors, []);
    // The next outage is logged as lost again, not as a warning about one that never ended.
    outages.report(refused(), 'service');
    assert.equal(logs.find('Redis connection lost').length, 2);
  });
});
