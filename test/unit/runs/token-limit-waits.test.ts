import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextGenerationPatch, retryModeFor } from '../../../src/runs/retry-policy.js';
import { tokenLimitRefusal } from '../../../src/runs/token-budget.js';
import { newShardRecord, type ShardRecord } from '../../../src/runs/run-record.js';
import { defaultTuning } from '../../../src/tuning.js';
import { runRecordOf } from '../../helpers/run-record.js';

const run = runRecordOf({ id: 'run_test', items: 10 });
const HOUR = 3600_000;
const NOW = Date.UTC(2026, 0, 1);

/** A shard whose batch failed with token_limit_exceeded under a 90,000-token limit. */
const refused = (fields: Partial<ShardRecord> = {}): ShardRecord => ({
  ...newShardRecord({ shard: 3, model: 'gpt-4o-mini', requests: 10, bytes: 1_000, estimated_tokens: 60_000 }),
  step: 'terminal',
  batch_id: 'batch_1',
  batch_status: 'failed',
  error: { code: 'token_limit_exceeded', message: 'Enqueued token limit reached for gpt-4o-mini in organization org-x. Limit: 90,000 enqueued tokens. Please try again once some in_progress batches have been completed.' },
  ...fields,
});

const delayOf = (shard: ShardRecord): number => {
  const mode = retryModeFor(run, shard, defaultTuning);
  assert.equal(mode.kind, 'token-wait');
  return mode.kind === 'token-wait' ? mode.delayMs : -1;
};

describe('waiting out token_limit_exceeded', () => {
  it('waits 5, 10, 20, 40 minutes, then an hour at most between tries', () => {
    const minutes = [0, 1, 2, 3, 4, 5, 12].map((waits) => delayOf(refused({ token_waits: waits, token_wait_since: NOW })) / 60_000);
    assert.deepEqual(minutes, [5, 10, 20, 40, 60, 60, 60]);
  });

  it('sends a shard refused alone and estimated over the limit round again at once, marked to be refused: waiting cannot make room for it', () => {
    const overAlone = refused({ estimated_tokens: 90_001, created_alone: true });
    assert.equal(delayOf(overAlone), 0);
    assert.equal(nextGenerationPatch(overAlone, { kind: 'token-wait', delayMs: 0 }, NOW).over_token_limit, 90_000);
  });

  it('goes by the refused generation\'s own estimate: a retry of a few requests of a big shard is no proof the shard is over', () => {
    // A generation of the two requests that failed in generation 0 carries their count, not the shard's 5M.
    const fewRefusedAlone = refused({ estimated_tokens: 40_000, created_alone: true, error: { code: 'token_limit_exceeded', message: 'Limit: 2,000,000 enqueued tokens.' } });
    assert.equal(delayOf(fewRefusedAlone), 5 * 60_000);
    assert.equal(nextGenerationPatch(fewRefusedAlone, { kind: 'token-wait', delayMs: 1 }, NOW).over_token_limit, null);
  });

  it('waits when either sign is missing: the estimate runs above OpenAI\'s count, and others may have held the room', () => {
    for (const shard of [refused({ estimated_tokens: 90_000, created_alone: true }), refused({ estimated_tokens: 90_001, created_alone: false })]) {
      assert.equal(delayOf(shard), 5 * 60_000);
      assert.equal(nextGenerationPatch(shard, { kind: 'token-wait', delayMs: 1 }, NOW).over_token_limit, null);
    }
  });

  it('keeps the start of the wait across resubmissions and forgets it once a round goes for another reason', () => {
    const first = nextGenerationPatch(refused(), { kind: 'token-wait', delayMs: 1 }, NOW);
    assert.equal(first.token_wait_since, NOW);
    assert.equal(first.token_waits, 1);
    const later = nextGenerationPatch(refused({ token_wait_since: NOW, token_waits: 1 }), { kind: 'token-wait', delayMs: 1 }, NOW + HOUR);
    assert.equal(later.token_wait_since, NOW);
    assert.equal(nextGenerationPatch(refused({ token_wait_since: NOW }), { kind: 'transient' }, NOW + HOUR).token_wait_since, null);
  });

  it('still retries nothing of a cancelled run', () => {
    assert.deepEqual(retryModeFor(runRecordOf({ id: 'run_test', items: 10, cancel_requested: true }), refused(), defaultTuning), { kind: 'none' });
  });
});

describe('tokenLimitRefusal', () => {
  const waiting = (fields: Partial<ShardRecord> = {}) => ({ ...refused(), step: 'uploaded' as const, ...fields });

  it('refuses a shard over the whole limit, naming its tokens, the limit and the setting to lower', () => {
    const refusal = tokenLimitRefusal(waiting({ estimated_tokens: 7_500_000, over_token_limit: 2_000_000 }), 2_000_000, defaultTuning, NOW);
    assert.equal(refusal?.code, 'shard_over_token_limit');
    assert.equal(
      refusal?.message,
      "shard 3 needs about 7,500,000 enqueued tokens, more than gpt-4o-mini's enqueued-token limit of 2,000,000: OpenAI refused it with no other batch of this service enqueued, and waiting cannot make room for it; lower BATCHLINE_SHARD_MAX_REQUESTS (now 50,000 requests a shard) so each shard fits, and run these items again",
    );
  });

  it('judges the generation it is about: evidence against a bigger earlier one does not refuse a smaller later one', () => {
    // Generation 1 (the whole shard's 5M) was refused alone under a 2M limit; generation 2 sends a few requests.
    const smaller = waiting({ estimated_tokens: 40_000, over_token_limit: 2_000_000 });
    assert.equal(tokenLimitRefusal(smaller, 2_000_000, defaultTuning, NOW), null);
    assert.equal(tokenLimitRefusal({ ...smaller, token_wait_since: NOW - 25 * HOUR }, 2_000_000, defaultTuning, NOW)?.code, 'token_limit_wait_exceeded');
  });

  it('lets a shard that fits wait, until it has waited the whole bound', () => {
    assert.equal(tokenLimitRefusal(waiting({ estimated_tokens: 100_000 }), 90_000, defaultTuning, NOW), null);
    assert.equal(tokenLimitRefusal(waiting(), null, defaultTuning, NOW), null);
    assert.equal(tokenLimitRefusal(waiting({ token_wait_since: NOW - 24 * HOUR }), 90_000, defaultTuning, NOW), null);
    const refusal = tokenLimitRefusal(waiting({ token_wait_since: NOW - 25 * HOUR }), 90_000, defaultTuning, NOW);
    assert.equal(refusal?.code, 'token_limit_wait_exceeded');
    assert.match(refusal?.message ?? '', /^shard 3 \(about 60,000 tokens\) waited 25 h for room under gpt-4o-mini's enqueued-token limit of 90,000 and got none/);
  });
});
