import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crashPoint, parseCrashRules, resetCrashPasses } from '../../../src/lib/crash-point.js';

describe('crash points', () => {
  afterEach(() => resetCrashPasses());

  /** Counts kills instead of dying: the process kill itself is exercised by the fault suite. */
  const counter = () => {
    let kills = 0;
    return { kill: () => void (kills += 1), get kills() { return kills; } };
  };

  it('parse names with an optional pass number and refuse typos', () => {
    assert.deepEqual(parseCrashRules(' submit:after-upload , results:mid-download#200,'), [
      { point: 'submit:after-upload', pass: 1, spec: 'submit:after-upload' },
      { point: 'results:mid-download', pass: 200, spec: 'results:mid-download#200' },
    ]);
    assert.throws(() => parseCrashRules('after-upload'), /not a crash point/);
    assert.throws(() => parseCrashRules('submit:after-upload#0'), /not a crash point/);
  });

  it('do nothing unless named', () => {
    const probe = counter();
    crashPoint('submit:after-upload', { BATCHLINE_CRASH_AT: undefined, BATCHLINE_CRASH_MARKER_DIR: undefined }, probe.kill);
    crashPoint('submit:after-upload', { BATCHLINE_CRASH_AT: 'submit:after-create', BATCHLINE_CRASH_MARKER_DIR: undefined }, probe.kill);
    assert.equal(probe.kills, 0);
  });

  it('fire on the named pass only', () => {
    const probe = counter();
    const config = { BATCHLINE_CRASH_AT: 'results:mid-download#3', BATCHLINE_CRASH_MARKER_DIR: undefined };
    for (let line = 1; line <= 2; line += 1) crashPoint('results:mid-download', config, probe.kill);
    assert.equal(probe.kills, 0);
    crashPoint('results:mid-download', config, probe.kill);
    assert.equal(probe.kills, 1);
    crashPoint('results:mid-download', config, probe.kill);
    assert.equal(probe.kills, 1);
  });

  it('fire once per marker folder, so a restarted process runs through', () => {
    const markers = mkdtempSync(path.join(tmpdir(), 'batchline-crash-'));
    try {
      const probe = counter();
      const config = { BATCHLINE_CRASH_AT: 'notify:after-slack-claim', BATCHLINE_CRASH_MARKER_DIR: markers };
      crashPoint('notify:after-slack-claim', config, probe.kill);
      assert.equal(probe.kills, 1);
      assert.deepEqual(readdirSync(markers), ['crashed-notify_after-slack-claim']);
      // The "restarted process": its pass count starts again, the marker stays.
      resetCrashPasses();
      crashPoint('notify:after-slack-claim', config, probe.kill);
      assert.equal(probe.kills, 1);
    } finally {
      rmSync(markers, { recursive: true, force: true });
    }
  });
});
