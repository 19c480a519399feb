import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { shutdownOnSignals, SignalsHeldDuringStart, type ShutdownBound } from '../../../src/shutdown-signals.js';

/** A stand-in for the process: signals are emitted by the test, and the stop waits until the test lets it finish. */
function harness(bound?: ShutdownBound) {
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
  const code = shutdownOnSignals(stop, logger, signals, (exitCode) => void forced.push(exitCode), bound);
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

  it('a stop that overruns its bound is forced: what was still closing is named in one error line, and the exit code is 1', async () => {
    const forcedClose: string[][] = [];
    const h = harness({ afterMs: 50, force: () => (forcedClose.push(['workers (poll)', 'queues and Redis connections']), ['workers (poll)', 'queues and Redis connections']) });
    h.signals.emit('SIGTERM', 'SIGTERM');
    // The stop never finishes by itself here.
    assert.equal(await h.code, 1);
    assert.equal(forcedClose.length, 1);
    assert.deepEqual(h.logged.slice(1), ['shutdown did not finish within 50 ms; forced closed what was still open: workers (poll), queues and Redis connections']);
    // Finishing late changes nothing.
    h.finish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(!h.logged.includes('stopped'));
  });

  it('a stop within its bound is never forced, and leaves no timer behind', async () => {
    let forcedClose = 0;
    const h = harness({ afterMs: 60_000, force: () => (forcedClose++, []) });
    h.signals.emit('SIGTERM', 'SIGTERM');
    h.finish();
    // Resolving at once (not after 60 s) also shows the bound's timer is gone: the runner would wait on it otherwise.
    assert.equal(await h.code, 0);
    assert.equal(forcedClose, 0);
    assert.deepEqual(h.logged, ['shutting down', 'stopped']);
  });
});

describe('SignalsHeldDuringStart', () => {
  it('a SIGTERM during the start is held, not fatal, and stops the service once it is up', async () => {
    const process = new EventEmitter();
    const forced: number[] = [];
    const held = new SignalsHeldDuringStart(process, (code) => void forced.push(code));
    // The start is still running: nothing listens yet but the holder.
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(forced.length, 0);
    const logged: string[] = [];
    const log = (fieldsOrMessage: object | string, message?: string): void => void logged.push(message ?? String(fieldsOrMessage));
    let stops = 0;
    const code = shutdownOnSignals(async () => void stops++, { info: log, error: log }, held, (exitCode) => void forced.push(exitCode));
    assert.equal(await code, 0);
    assert.equal(stops, 1);
    assert.deepEqual(logged, ['shutting down', 'stopped']);
    // Once handed on, signals reach the listener directly: a repeat is the stop's own business.
    process.emit('SIGTERM', 'SIGTERM');
    assert.deepEqual(logged.at(-1), 'already shutting down');
    assert.equal(forced.length, 0);
  });

  it('hands each held signal only to a listener of its kind, once', () => {
    const process = new EventEmitter();
    const held = new SignalsHeldDuringStart(process, () => assert.fail('not forced'));
    process.emit('SIGINT', 'SIGINT');
    const heard: string[] = [];
    held.on('SIGTERM', (signal) => heard.push(`term:${signal}`));
    assert.equal(heard.length, 0);
    held.on('SIGINT', (signal) => heard.push(`int:${signal}`));
    assert.deepEqual(heard, ['int:SIGINT']);
    held.on('SIGINT', (signal) => heard.push(`again:${signal}`));
    assert.deepEqual(heard, ['int:SIGINT'], 'not replayed to a later listener');
  });

  it('a second Ctrl-C during the start exits at once with 130', () => {
    const process = new EventEmitter();
    const forced: number[] = [];
    new SignalsHeldDuringStart(process, (code) => void forced.push(code));
    process.emit('SIGINT', 'SIGINT');
    assert.equal(forced.length, 0);
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(forced, [130]);
  });
});
