import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { shutdownOnSignals } from '../../../src/shutdown-signals.js';

/** A stand-in for the process: signals are emitted by the test, and the stop waits until the test lets it finish. */
function harness() {
  const signals = new EventEmitter();
  const forced: number[] = [];
  const logged: string[] = [];
  let finishStop: () => void = () => undefined;
  let stops = 0;
  const stop = (): Promise<void> => {
    stops += 1;
    return new Promise<void>((resolve) => (finishStop = resolve));
  };
  const log = (fieldsOrMessage: object | string, message?: string): void => void logged.push(message ?? String(fieldsOrMessage));
  const logger = { info: log, error: log };
  const code = shutdownOnSignals(stop, logger, signals, (exitCode) => void forced.push(exitCode));
  return { signals, forced, logged, code, finish: () => finishStop(), stops: () => stops };
}

describe('shutdownOnSignals', () => {
  it('a SIGTERM repeated while stopping (as `timeout` sends it) neither forces the exit nor stops twice', async () => {
    const h = harness();
    h.signals.emit('SIGTERM', 'SIGTERM');
    h.signals.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(h.forced, []);
    assert.equal(h.stops(), 1);
    assert.ok(h.logged.includes('already shutting down'));
    h.finish();
    assert.equal(await h.code, 0);
  });

  it('a second Ctrl-C forces the exit with 130', () => {
    const h = harness();
    h.signals.emit('SIGINT', 'SIGINT');
    assert.deepEqual(h.forced, []);
    h.signals.emit('SIGINT', 'SIGINT');
    assert.deepEqual(h.forced, [130]);
  });
});
