import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ThreadPool } from '../../../src/lib/thread-pool.js';
import type { TestThreadTask } from '../../helpers/test-thread.js';

type Answer = { values: Float64Array<ArrayBuffer> | null; threadId: number };
const testThread = new URL('../../helpers/test-thread.ts', import.meta.url);

describe('ThreadPool', () => {
  const pools: Array<ThreadPool<TestThreadTask, Answer>> = [];
  const lost: string[] = [];
  const newPool = (size: number): ThreadPool<TestThreadTask, Answer> => {
    const pool = new ThreadPool<TestThreadTask, Answer>(testThread, size, (error) => lost.push(error.message));
    pools.push(pool);
    return pool;
  };
  after(async () => {
    await Promise.all(pools.map((pool) => pool.close()));
  });

  it('runs a task in a thread, moving transferred buffers instead of copying them', async () => {
    const pool = newPool(2);
    assert.equal(pool.threadCount, 0, 'no thread before the first task');
    const values = Float64Array.from([1, 2, 3]);
    const answer = await pool.run({ kind: 'double', values }, [values.buffer]);
    assert.deepEqual([...(answer.values ?? [])], [2, 4, 6]);
    assert.equal(values.length, 0, 'the input buffer moved to the thread');
    assert.equal(pool.threadCount, 1);
    assert.equal(pool.answered, 1);
  });

  it('starts another thread only while every thread is busy, up to its size', async () => {
    const pool = newPool(2);
    const answers = await Promise.all([pool.run({ kind: 'hold', ms: 150 }), pool.run({ kind: 'hold', ms: 150 }), pool.run({ kind: 'hold', ms: 150 })]);
    assert.equal(pool.threadCount, 2);
    assert.equal(new Set(answers.map((answer) => answer.threadId)).size, 2, 'three tasks ran on two threads');
    await pool.run({ kind: 'double', values: Float64Array.from([1]) });
    assert.equal(pool.threadCount, 2, 'an idle thread takes the next task');
  });

  it("rejects with the thread's error, by name and message, and the thread serves on", async () => {
    const pool = newPool(1);
    await assert.rejects(pool.run({ kind: 'throw' }), (error: unknown) => error instanceof Error && error.name === 'SyntaxError' && /JSON/.test(error.message));
    const answer = await pool.run({ kind: 'double', values: Float64Array.from([5]) });
    assert.deepEqual([...(answer.values ?? [])], [10]);
    assert.equal(pool.threadCount, 1, 'the same thread');
  });

  it('fails the tasks of a thread that dies, and a new thread takes the next task', async () => {
    const pool = newPool(1);
    const first = await pool.run({ kind: 'double', values: Float64Array.from([1]) });
    const dying = pool.run({ kind: 'exit' });
    const queued = pool.run({ kind: 'double', values: Float64Array.from([2]) });
    await assert.rejects(dying, /exited \(code 3\)/);
    // The task queued behind it on the same thread fails with it instead of waiting for ever.
    await assert.rejects(queued, /exited \(code 3\)/);
    assert.equal(pool.threadCount, 0);
    assert.deepEqual(lost, ['a pool thread exited (code 3)'], 'told once');
    const next = await pool.run({ kind: 'double', values: Float64Array.from([3]) });
    assert.deepEqual([...(next.values ?? [])], [6]);
    assert.notEqual(next.threadId, first.threadId, 'a fresh thread');
  });

  it('refuses tasks once closed', async () => {
    const pool = newPool(1);
    await pool.run({ kind: 'double', values: Float64Array.from([1]) });
    const running = pool.run({ kind: 'hold', ms: 2_000 });
    await pool.close();
    assert.equal(pool.threadCount, 0);
    await assert.rejects(running, /exited/, 'a task running at close fails instead of hanging');
    assert.equal(lost.length, 1, 'a thread stopped by close is not reported lost');
    await assert.rejects(pool.run({ kind: 'double', values: Float64Array.from([1]) }), /closed/);
  });
});
