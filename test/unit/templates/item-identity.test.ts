import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { customIdFor, ITEM_REF_MAX_FIELD_CHARS, itemRefOf } from '../../../src/pipelines/templates/item-identity.js';
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
    assert.equal(customIdFor({ id: '' }, 2), 'item-2');
    assert.equal(customIdFor({ id: { nested: true } }, 2), 'item-2');
    assert.equal(customIdFor({ id: null }, 0), 'item-0');
  });
});

describe('itemRefOf', () => {
  it('keeps only the key of a source item', () => {
    assert.deepEqual(itemRefOf({ key: 'images/cat.png', version: 'etag', size: 1234 }), { key: 'images/cat.png' });
  });

  it('keeps only the id of a POSTed item that has one', () => {
    assert.deepEqual(itemRefOf({ id: 'a1', text: 'a long article…' }), { id: 'a1' });
    assert.deepEqual(itemRefOf({ id: 5, text: '…' }), { id: 5 });
  });

  it('keeps summarize\'s id_field under its own name', () => {
    assert.deepEqual(itemRefOf({ slug: 'night-trains', text: '…' }, summarizeBySlug), { slug: 'night-trains' });
  });

  it('otherwise keeps the small top-level fields and drops big ones and image payloads', () => {
    const item = {
      title: 'Short title',
      lang: 'en',
      rank: 3,
      draft: false,
      note: null,
      tags: ['a', 'b'],
      text: 'x'.repeat(ITEM_REF_MAX_FIELD_CHARS + 1),
      meta: { blob: 'y'.repeat(500) },
      image_base64: 'iVBORw0KGgo=',
      image_url: 'data:image/png;base64,iVBORw0KGgo=',
    };
    assert.deepEqual(itemRefOf(item), { title: 'Short title', lang: 'en', rank: 3, draft: false, note: null, tags: ['a', 'b'] });
    assert.deepEqual(itemRefOf({ image_url: 'https://example.com/cat.png' }), { image_url: 'https://example.com/cat.png' });
    assert.deepEqual(itemRefOf({ text: 'z'.repeat(1000) }), {});
  });
});
