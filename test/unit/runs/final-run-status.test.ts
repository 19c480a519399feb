import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { finalRunStatus } from '../../../src/runs/final-run-status.js';
import { newShardRecord, type RunRecord, type ShardRecord } from '../../../src/runs/run-record.js';
import { RunSummary } from '../../../src/runs/run-summary.js';
import { runRecordOf } from '../../helpers/run-record.js';

const run = (fields: Partial<RunRecord> = {}): RunRecord => runRecordOf({ id: 'run_test', items: 2, ...fields });

const shardEnded = (batchStatus: string): ShardRecord => ({
  ...newShardRecord({ shard: 0, model: 'gpt-4o-mini', requests: 2, bytes: 100, estimated_tokens: 10 }),
  step: 'stored',
  batch_status: batchStatus,
});

const summary = (succeeded: number, failedCode: string | null = null): RunSummary => {
  const counted = new RunSummary();
  for (let at = 0; at < succeeded; at += 1) counted.add({ custom_id: `ok-${at}`, item: null, status_code: 200, output: null, response: {}, error: null });
  if (failedCode !== null) counted.add({ custom_id: 'bad', item: null, status_code: null, output: null, response: null, error: { code: failedCode, message: 'x' } });
  return counted;
};

describe('finalRunStatus', () => {
  it('a cancel that cut a batch short ends the run cancelled, whatever finished before it', () => {
    assert.equal(finalRunStatus(run({ cancel_requested: true }), [shardEnded('cancelled')], summary(1, 'batch_cancelled')), 'cancelled');
    assert.equal(finalRunStatus(run({ cancel_requested: true }), [shardEnded('completed'), shardEnded('cancelled')], summary(2)), 'cancelled');
  });

  it('a cancel that came after every batch had finished leaves the run what its results say', () => {
    assert.equal(finalRunStatus(run({ cancel_requested: true }), [shardEnded('completed')], summary(2)), 'succeeded');
    assert.equal(finalRunStatus(run({ cancel_requested: true }), [shardEnded('completed')], summary(1, 'server_error')), 'partial');
    assert.equal(finalRunStatus(run({ cancel_requested: true }), [shardEnded('failed')], summary(0, 'batch_failed')), 'failed');
  });

  it('without a cancel: succeeded, partial or failed from the result lines; a batch cancelled elsewhere is not a cancelled run', () => {
    assert.equal(finalRunStatus(run(), [shardEnded('completed')], summary(2)), 'succeeded');
    assert.equal(finalRunStatus(run(), [shardEnded('completed')], summary(1, 'server_error')), 'partial');
    assert.equal(finalRunStatus(run(), [shardEnded('cancelled')], summary(0, 'batch_cancelled')), 'failed');
  });
});
