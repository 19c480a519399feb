import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeManifestLine, encodeManifestLine, indexManifestBlock } from '../../../src/runs/manifest-line.js';
import { ShardJoinIndex } from '../../../src/runs/shard-join-index.js';

describe('manifest lines', () => {
  test('the item comes back as the exact JSON text it was written as', () => {
    const items: unknown[] = [{ key: 'images/a.png', etag: '"abc"' }, 'plain', 42, null, [1, { n: 'ü ☕ \n' }], { nested: { '}': ',"item":' } }];
    for (const item of items) {
      const decoded = decodeManifestLine(encodeManifestLine('c-1', item));
      assert.equal(decoded.customId, 'c-1');
      assert.equal(decoded.itemJson, JSON.stringify(item));
      assert.deepEqual(JSON.parse(decoded.itemJson), item);
    }
  });

  test('ids that need escapes, or that read like the separator, are decoded by parsing', () => {
    for (const customId of ['a"b', 'back\\slash', 'tab\there', 'x","item":1', 'ü-☕', '']) {
      const decoded = decodeManifestLine(encodeManifestLine(customId, { n: 1 }));
      assert.equal(decoded.customId, customId);
      assert.deepEqual(JSON.parse(decoded.itemJson), { n: 1 });
    }
  });

  test('an absent item reads as null; a line of another shape is parsed; a broken line throws', () => {
    assert.equal(decodeManifestLine(encodeManifestLine('c-2', undefined)).itemJson, 'null');
    const spaced = decodeManifestLine('{ "item": {"k": 1}, "custom_id": "c-3" }');
    assert.equal(spaced.customId, 'c-3');
    assert.equal(spaced.itemJson, '{"k":1}');
    assert.throws(() => decodeManifestLine('{"custom_id":"c-4","item":'), SyntaxError);
  });

  test('a block of manifest bytes lists every line in the join index with the item decodeManifestLine gives', () => {
    const lines = [
      encodeManifestLine('c-1', { key: 'images/a.png', etag: '"abc"' }),
      encodeManifestLine('ü-☕', { note: 'n'.repeat(100) }),
      encodeManifestLine('a"b', [1, 2]),
      encodeManifestLine('c-4', undefined),
      '{ "item": {"k": 1}, "custom_id": "c-5" }',
      encodeManifestLine('c-6', 'plain'),
    ];
    // CRLF and LF endings, blank lines, and a last line without a newline.
    const bytes = Buffer.from(`${lines[0]}\r\n\n${lines[1]}\n   \n${lines[2]}\n${lines[3]}\r\n${lines[4]}\n${lines[5]}`);
    const index = new ShardJoinIndex();
    indexManifestBlock(index, bytes);
    for (const line of lines) {
      const { customId, itemJson } = decodeManifestLine(line);
      const position = index.claimPosition(customId);
      assert.notEqual(position, -1, customId);
      const written = Buffer.alloc(index.itemByteLength(position) + 2, 0x2a);
      index.writeItem(position, written, 1);
      assert.equal(written.subarray(1, -1).toString(), itemJson, customId);
      assert.equal(written[0], 0x2a);
      assert.equal(written.at(-1), 0x2a);
    }
    assert.equal(index.answered, lines.length);
  });

  test('a broken line in a block throws', () => {
    assert.throws(() => indexManifestBlock(new ShardJoinIndex(), Buffer.from(`${encodeManifestLine('c-1', 1)}\n{"custom_id":"c-2","item":\n`)), SyntaxError);
  });
});
