import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextPollDelay } from '../../../src/processors/poll-cadence.js';
import { defaultTuning } from '../../../src/tuning.js';

describe('poll cadence', () => {
  const now = 1_000_000_000_000;
  const farExpiry = now + 24 * 3600_000;

  it('starts at seconds and doubles up to minutes', () => {
    const delays = Array.from({ length: 10 }, (_, checks) => nextPollDelay(checks, now, farExpiry, defaultTuning));
    assert.deepEqual(delays.slice(0, 4), [10_000, 20_000, 40_000, 80_000]);
    assert.equal(delays[9], defaultTuning.pollMaxMs);
    for (let index = 1; index < delays.length; index += 1) assert.ok(delays[index]! >= delays[index - 1]!);
  });

  it('tightens within the last hour before expires_at', () => {
    assert.equal(nextPollDelay(20, now, now + 30 * 60_000, defaultTuning), defaultTuning.pollNearExpiryMs);
    assert.equal(nextPollDelay(0, now, now + 30 * 60_000, defaultTuning), 10_000);
  });

  it('does not overflow after very many checks', () => {
    assert.equal(nextPollDelay(10_000, now, null, defaultTuning), defaultTuning.pollMaxMs);
  });
});
