import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RawJson } from '../../../src/runs/result-line.js';
import { ShardJoinIndex } from '../../../src/runs/shard-join-index.js';

describe('ShardJoinIndex', () => {
  test('each request is claimed once, with its item; an unlisted id once, with no item; answered counts both', () => {
    const index = new ShardJoinIndex();
    index.addItem('c-1', new RawJson('{"id":1}'));
    index.addItem('c-2', new RawJson('{"id":2}'));
    assert.equal(index.claim('c-2')?.item?.text, '{"id":2}');
    assert.equal(index.claim('c-2'), undefined, 'a second line for the same request gets nothing');
    assert.deepEqual(index.claim('stray'), { item: null });
    assert.equal(index.claim('stray'), undefined);
    assert.equal(index.answered, 2);
    assert.equal(index.claim('c-1')?.item?.text, '{"id":1}');
    assert.equal(index.answered, 3);
  });
});
