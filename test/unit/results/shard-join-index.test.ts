import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ShardJoinIndex } from '../../../src/runs/shard-join-index.js';

describe('ShardJoinIndex', () => {
  test('an item listed twice keeps the later text and is still one request', () => {
    const index = new ShardJoinIndex();
    index.addItem('c-1', '{"v":1}');
    index.addItem('c-1', '{"v":2}');
    assert.equal(index.claim('c-1')?.text, '{"v":2}');
    assert.equal(index.claim('c-1'), undefined);
    assert.equal(index.answered, 1);
  });

  test('each request is claimed once, with its item; an unlisted id once, with no item; answered counts both', () => {
    const index = new ShardJoinIndex();
    index.addItem('c-1', '{"id":1}');
    index.addItem('c-2', '{"id":2}');
    assert.equal(index.claim('c-2')?.text, '{"id":2}');
    assert.equal(index.claim('c-2'), undefined, 'a second line for the same request gets nothing');
    assert.equal(index.claim('stray'), null);
    assert.equal(index.claim('stray'), undefined);
    assert.equal(index.answered, 2);
    assert.equal(index.claim('c-1')?.text, '{"id":1}');
    assert.equal(index.answered, 3);
  });
});
