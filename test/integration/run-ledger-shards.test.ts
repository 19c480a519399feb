import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RunLedger } from '../../src/runs/run-ledger.js';
import { newShardRecord, type ShardRecord } from '../../src/runs/run-record.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const PREFIX = 'ledger-shards';
const shardKey = (runId: string, shard: number): string => `${PREFIX}:ledger:run:${runId}:shard:${shard}`;
const record = (shard: number): ShardRecord => newShardRecord({ shard, model: 'gpt-4o-mini', requests: 100, bytes: 2_000, estimated_tokens: 900 });

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

  // Shard records leave their default-valued fields out of Redis, and the batch index stores a short string:
  // what earlier versions wrote whole (or as JSON), for batches still in flight, reads and updates the same.
  it('a shard stores only the fields that say something, and reads whole', async () => {
    const shard = record(0);
    await ledger.addShard('run_new', shard);
    assert.deepEqual(Object.keys(await client.hgetall(shardKey('run_new', 0))).sort(), ['bytes', 'estimated_tokens', 'model', 'requests', 'shard', 'step']);
    assert.deepEqual(await ledger.getShard('run_new', 0), shard);

    // A condition on a default matches the absent field; one on another value does not.
    assert.equal(await ledger.updateShard('run_new', 0, { step: ['planned'], generation: [0] }, { step: 'created', batch_id: 'batch_1', error: { code: 'x', message: 'y' } }), 'applied');
    assert.equal(await ledger.updateShard('run_new', 0, { generation: [1] }, { step: 'terminal' }), 'condition-failed');
    assert.equal(await ledger.updateShard('run_new', 0, { batch_id: [null] }, { step: 'terminal' }), 'condition-failed');
    assert.deepEqual(await ledger.getShard('run_new', 0), { ...shard, step: 'created', batch_id: 'batch_1', error: { code: 'x', message: 'y' } });

    // Back to a default: the field leaves the hash.
    assert.equal(await ledger.updateShard('run_new', 0, { batch_id: ['batch_1'] }, { error: null, generation: 1 }), 'applied');
    const fields = await client.hgetall(shardKey('run_new', 0));
    assert.equal(fields['error'], undefined);
    assert.equal(fields['generation'], '1');
    assert.equal(await client.object('ENCODING', shardKey('run_new', 0)), 'listpack');

    // Every read gets its own default list.
    const first = await ledger.getShard('run_new', 0);
    first?.previous_batch_ids.push('batch_0');
    assert.deepEqual((await ledger.getShard('run_new', 0))?.previous_batch_ids, []);
  });

  it('a shard written whole by an earlier version reads, updates and sweeps the same', async () => {
    const shard = { ...record(3), step: 'created' as const, batch_id: 'batch_old', input_file_id: 'file-old' };
    await client.hset(shardKey('run_old', 3), Object.fromEntries(Object.entries(shard).map(([field, value]) => [field, JSON.stringify(value)])));
    await client.sadd(`${PREFIX}:ledger:run:run_old:shards`, '3');
    assert.deepEqual(await ledger.getShard('run_old', 3), shard);
    assert.deepEqual(await ledger.getShards('run_old'), [shard]);
    assert.deepEqual((await ledger.getSweepViews(['run_old']))[0]?.shards, [{ shard: 3, generation: 0, step: 'created', batch_id: 'batch_old' }]);

    // The stored "0" and "null" still match conditions on defaults.
    assert.equal(await ledger.updateShard('run_old', 3, { generation: [0], error: [null] }, { step: 'terminal', batch_status: 'completed' }), 'applied');
    assert.deepEqual(await ledger.getShard('run_old', 3), { ...shard, step: 'terminal', batch_status: 'completed' });
  });

  it('the batch index reads both its short entries and the JSON ones of earlier versions', async () => {
    await ledger.rememberBatch('batch_new', { runId: 'run_abc', shard: 12, generation: 2 });
    assert.equal(await client.hget(`${PREFIX}:ledger:batches`, 'batch_new'), 'run_abc 12 2');
    assert.deepEqual(await ledger.findBatch('batch_new'), { runId: 'run_abc', shard: 12, generation: 2 });
    await client.hset(`${PREFIX}:ledger:batches`, 'batch_json', JSON.stringify({ runId: 'run_def', shard: 4, generation: 0 }));
    assert.deepEqual(await ledger.findBatch('batch_json'), { runId: 'run_def', shard: 4, generation: 0 });
    assert.equal(await ledger.findBatch('batch_none'), null);
  });
});
