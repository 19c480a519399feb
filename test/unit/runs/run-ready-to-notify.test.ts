import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runReadyToNotify } from '../../../src/runs/run-ready-to-notify.js';
import { newShardRecord, type RunRecord, type ShardRecord } from '../../../src/runs/run-record.js';
import { runRecordOf } from '../../helpers/run-record.js';

const run = (fields: Partial<RunRecord> = {}): RunRecord => runRecordOf({ id: 'run_test', items: 2, phase: 'sharded', shard_count: 2, ...fields });

const shard = (index: number, step: ShardRecord['step']): ShardRecord => ({
  ...newShardRecord({ shard: index, model: 'gpt-4o-mini', requests: 1, bytes: 100, estimated_tokens: 10 }),
  step,
});

describe('runReadyToNotify', () => {
  it('is ready once every shard of a sharded run has its results stored', () => {
    assert.equal(runReadyToNotify(run(), [shard(0, 'stored'), shard(1, 'stored')]), true);
    assert.equal(runReadyToNotify(run({ shard_count: 0 }), []), true, 'a run whose items were all rejected has no shard');
  });

  it('waits for a shard not yet stored or not yet written', () => {
    assert.equal(runReadyToNotify(run(), [shard(0, 'stored'), shard(1, 'terminal')]), false);
    assert.equal(runReadyToNotify(run(), [shard(0, 'stored')]), false);
  });

  it('is never ready for a missing run, one not sharded yet, or one already settled', () => {
    const stored = [shard(0, 'stored'), shard(1, 'stored')];
    assert.equal(runReadyToNotify(null, stored), false);
    assert.equal(runReadyToNotify(run({ shard_count: null }), stored), false);
    assert.equal(runReadyToNotify(run({ phase: 'succeeded' }), stored), false);
  });
});
