import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RunLedger } from '../../src/runs/run-ledger.js';
import { newShardRecord } from '../../src/runs/run-record.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const PREFIX = 'ledger-shards';
const shardKey = (runId: string, shard: number): string => `${PREFIX}:ledger:run:${runId}:shard:${shard}`;

describe('shard records in the run ledger', () => {
  let redis: TestRedis;
  let client: Redis;
  let ledger: RunLedger;
  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    ledger = new RunLedger(client, PREFIX);
  });
  after(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('are written whole and once: a rebuild reaching the same shard keeps the first record', async () => {
    const first = newShardRecord({ shard: 0, model: 'gpt-4o-mini', requests: 100, bytes: 2_000, estimated_tokens: 900 });
    assert.equal(await ledger.addShard('run_a', first), true);
    assert.equal(await ledger.addShard('run_a', { ...first, requests: 7 }), false);
    assert.deepEqual(await ledger.getShard('run_a', 0), first);
    assert.deepEqual(
      (await ledger.getShards('run_a')).map((shard) => shard.shard),
      [0],
    );
  });

  it('a record left with its number but no step (a worker killed between two writes) is completed by the rebuild', async () => {
    // What a kill between the two writes of the earlier two-step version left behind.
    await client.hset(shardKey('run_b', 1), 'shard', '1');
    await client.sadd(`${PREFIX}:ledger:run:run_b:shards`, '1');
    assert.deepEqual(await ledger.getShards('run_b'), [], 'readers skip a record without a step');

    const record = newShardRecord({ shard: 1, model: 'gpt-4o-mini', requests: 100, bytes: 2_000, estimated_tokens: 900 });
    assert.equal(await ledger.addShard('run_b', record), true);
    assert.deepEqual(await ledger.getShards('run_b'), [record]);
  });
});
