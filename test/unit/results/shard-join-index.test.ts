import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ANSWERED_BEFORE, ShardJoinIndex } from '../../../src/runs/shard-join-index.js';

describe('ShardJoinIndex', () => {
  test('an item listed twice keeps the later text and is still one request', () => {
    const index = new ShardJoinIndex();
    index.addItemText('c-1', '{"v":1}');
    index.addItemText('c-1', '{"v":2}');
    assert.equal(index.claim('c-1')?.text, '{"v":2}');
    assert.equal(index.claim('c-1'), undefined);
    assert.equal(index.answered, 1);
  });

  test('each request is claimed once, with its item; an unlisted id once, with no item; answered counts both', () => {
    const index = new ShardJoinIndex();
    index.addItemText('c-1', '{"id":1}');
    index.addItemText('c-2', '{"id":2}');
    assert.equal(index.claim('c-2')?.text, '{"id":2}');
    assert.equal(index.claim('c-2'), undefined, 'a second line for the same request gets nothing');
    assert.equal(index.claim('stray'), null);
    assert.equal(index.claim('stray'), undefined);
    assert.equal(index.answered, 2);
    assert.equal(index.claim('c-1')?.text, '{"id":1}');
    assert.equal(index.answered, 3);
  });

  test('an unlisted request is written with null as its item; items are written from the bytes they lie in', () => {
    const index = new ShardJoinIndex();
    const block = index.addBlock(Buffer.from('xx{"id":1}yy'));
    index.addItem('c-1', block, 2, 10);
    const writeOf = (position: number): string => {
      const target = Buffer.alloc(index.itemByteLength(position));
      index.writeItem(position, target, 0);
      return target.toString();
    };
    assert.equal(writeOf(index.claimPosition('c-1')), '{"id":1}');
    assert.equal(writeOf(index.claimPosition('stray')), 'null');
    assert.equal(index.claimPosition('c-1'), ANSWERED_BEFORE);
  });

  test('the index grows past its first arrays with every item kept', () => {
    const index = new ShardJoinIndex();
    for (let n = 0; n < 5000; n += 1) index.addItemText(`c-${n}`, JSON.stringify({ n }));
    for (let n = 4999; n >= 0; n -= 1) assert.equal(index.claim(`c-${n}`)?.text, JSON.stringify({ n }));
    assert.equal(index.answered, 5000);
  });
});
