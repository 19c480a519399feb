import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiError } from '../../../src/lib/api-error.js';
import { assertJsonDepth, MAX_JSON_DEPTH, nestsDeeperThan } from '../../../src/lib/json-depth.js';

describe('JSON nesting depth', () => {
  test('counts objects and arrays alike, up to and past the limit', () => {
    assert.equal(nestsDeeperThan('{"a":[{"b":[]}]}', 4), false);
    assert.equal(nestsDeeperThan('{"a":[{"b":[]}]}', 3), true);
    assert.equal(nestsDeeperThan('[[],[],[[]]]', 3), false);
    assert.equal(nestsDeeperThan('"scalar"', 0), false);
  });

  test('brackets inside strings, escaped quotes among them, do not count', () => {
    assert.equal(nestsDeeperThan(`{"text":"${'['.repeat(500)}","q":"\\"[[[[","b":"\\\\"}`, 1), false);
    assert.equal(nestsDeeperThan(`{"q":"\\\\",${'['.repeat(3)}`, 3), true);
  });

  test('many brackets side by side are shallow; few brackets can still be too deep for a small limit', () => {
    const wide = `[${Array.from({ length: 5_000 }, () => '{"a":[1]}').join(',')}]`;
    assert.equal(nestsDeeperThan(wide, 3), false);
    assert.equal(nestsDeeperThan(wide, 2), true);
    assert.equal(nestsDeeperThan('[[[]]]', 2), true);
  });

  test('a body of 100,000 brackets is measured without recursion and refused with a 400 naming the limit', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.throws(
      () => assertJsonDepth(deep, 'the body'),
      (error: unknown) => error instanceof ApiError && error.statusCode === 400 && error.code === 'too_deep' && error.message.includes(`more than ${MAX_JSON_DEPTH} levels`),
    );
    assert.doesNotThrow(() => assertJsonDepth(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`, 'the body'));
  });
});
