import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeManifestLine, encodeManifestLine } from '../../../src/runs/manifest-line.js';

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
});
