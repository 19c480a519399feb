import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { badItemId, customIdFor, itemRefOf, ownIdOf } from '../../../src/pipelines/templates/item-identity.js';
import { templateDefinitionSchema } from '../../../src/pipelines/templates/template-definition.js';

const SAFE = /^[A-Za-z0-9_-]{1,64}$/;
const moderation = templateDefinitionSchema.parse({ type: 'image-moderation' });
const summarizeBySlug = templateDefinitionSchema.parse({ type: 'summarize', id_field: 'slug' });

describe('customIdFor: source items', () => {
  it('is a readable slug of the key plus a hash, stable across runs and indexes', () => {
    const item = { key: 'images/cat.png', version: '"9b2cf535f27731c974343645a3985328"', size: 1234 };
    const id = customIdFor(item, 0, moderation);
    assert.match(id, /^images-cat-png-[0-9a-f]{20}$/);
    assert.equal(customIdFor({ ...item }, 41, moderation), id);
    assert.equal(customIdFor(item, 0), id);
  });

  it('changes when the object has a new version', () => {
    assert.notEqual(customIdFor({ key: 'a.png', version: 'v1' }, 0), customIdFor({ key: 'a.png', version: 'v2' }, 0));
    assert.notEqual(customIdFor({ key: 'a.png', version: 'v1' }, 0), customIdFor({ key: 'a.png' }, 0));
  });

  it('gives distinct keys distinct ids even when their slugs are equal', () => {
    const keys = ['a/b.png', 'a-b.png', 'a b.png', 'a_b.png', 'a/b.PNG', 'a//b.png', 'ä/b.png', 'a/b.png '];
    const ids = keys.map((key) => customIdFor({ key, version: '1' }, 0));
    assert.equal(new Set(ids).size, keys.length);
    assert.equal(customIdFor({ key: 'a', version: 'b/c' }, 0) === customIdFor({ key: 'a/b', version: 'c' }, 0), false);
  });

  it('keeps to 64 characters of [A-Za-z0-9_-], keeping the end of a long key', () => {
    const long = `${'deeply/nested/'.repeat(20)}holiday-photo-0001.jpeg`;
    const id = customIdFor({ key: long, version: 'x' }, 0);
    assert.match(id, SAFE);
    assert.equal(id.length, 64);
    assert.match(id, /holiday-photo-0001-jpeg-[0-9a-f]{20}$/);
    for (const key of ['🐱.png', '///', '..', 'ü', 'x'.repeat(500), '-leading/and-trailing-']) {
      assert.match(customIdFor({ key }, 0), SAFE, key);
    }
    assert.match(customIdFor({ key: '🐱' }, 0), /^object-[0-9a-f]{20}$/);
  });
});

describe('customIdFor: POSTed items', () => {
  it('uses the item\'s own custom_id first', () => {
    assert.equal(customIdFor({ custom_id: 'mine-1', id: 'a1' }, 3), 'mine-1');
  });

  it('uses the id, a number written as text', () => {
    assert.equal(customIdFor({ id: 'a1', text: '…' }, 3), 'a1');
    assert.equal(customIdFor({ id: 17 }, 3), '17');
  });

  it('uses summarize\'s id_field, falling back to id', () => {
    assert.equal(customIdFor({ slug: 'night-trains', id: 'x' }, 0, summarizeBySlug), 'night-trains');
    assert.equal(customIdFor({ id: 'x' }, 0, summarizeBySlug), 'x');
  });

  it('falls back to the item\'s position', () => {
    assert.equal(customIdFor({ text: 'no id' }, 7), 'item-7');
  });
});

describe('badItemId', () => {
  it('accepts an item without an id, or with a non-empty string or a number', () => {
    for (const item of [{ text: 'x' }, { id: 'a1' }, { id: 0 }, { id: -2.5 }, { custom_id: 'c1' }]) assert.equal(badItemId(item), null, JSON.stringify(item));
  });

  it('names the id field when it is not a string or a number, or is empty', () => {
    for (const [id, what] of [[{ a: 1 }, /an object/], [true, /boolean true/], ['', /empty string/], [null, /null/], [[1], /an array/]] as const) {
      const bad = badItemId({ id, text: 'x' });
      assert.equal(bad?.field, 'id', JSON.stringify(id));
      assert.match(bad.problem, /must be a non-empty string or a number/);
      assert.match(bad.problem, what);
    }
  });

  it('checks summarize\'s id_field, and the item\'s custom_id', () => {
    assert.deepEqual(badItemId({ slug: false }, summarizeBySlug)?.field, 'slug');
    assert.equal(badItemId({ slug: 'ok', id: { ignored: true } }, summarizeBySlug), null);
    assert.equal(badItemId({ custom_id: 7 })?.field, 'custom_id');
    assert.equal(badItemId({ custom_id: 'x'.repeat(513) })?.field, 'custom_id');
  });
});

describe('ownIdOf', () => {
  it('is the first id field present when it is usable, else null', () => {
    assert.equal(ownIdOf({ id: 'a1' }), 'a1');
    assert.equal(ownIdOf({ slug: 's', id: 'a1' }, summarizeBySlug), 's');
    assert.equal(ownIdOf({ id: { a: 1 } }), null);
    assert.equal(ownIdOf({ text: 'x' }), null);
  });
});

describe('itemRefOf', () => {
  it('keeps only the key of a source item, and the id its stored article gave itself', () => {
    assert.deepEqual(itemRefOf({ key: 'images/cat.png', version: 'etag', size: 1234 }, 0), { key: 'images/cat.png' });
    assert.deepEqual(itemRefOf({ key: 'articles/a.json', version: 'etag' }, 3, undefined, 'article-001'), { key: 'articles/a.json', id: 'article-001' });
  });

  it('keeps only the id of a POSTed item that has one', () => {
    assert.deepEqual(itemRefOf({ id: 'a1', text: 'a long article…' }, 0), { id: 'a1' });
    assert.deepEqual(itemRefOf({ id: 5, text: '…' }, 0), { id: 5 });
  });

  it('names summarize\'s id_field "id" too, so every result line identifies its item the same way', () => {
    assert.deepEqual(itemRefOf({ slug: 'night-trains', text: '…' }, 0, summarizeBySlug), { id: 'night-trains' });
  });

  it('otherwise keeps the item\'s position in the POST, never its content', () => {
    const item = { title: 'Short title', text: 'x'.repeat(5000), image_base64: 'iVBORw0KGgo=', custom_id: 'c-1' };
    assert.deepEqual(itemRefOf(item, 4), { index: 4 });
    assert.deepEqual(itemRefOf({ image_url: 'https://example.com/cat.png' }, 0), { index: 0 });
  });
});
