import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FLAG_MARKER, sampleImages } from '../../../scripts/generate-sample-images.js';
import { sniffImageType } from '../../../src/pipelines/templates/sniff-image-type.js';

const fixturesUrl = new URL('../../../fixtures/', import.meta.url);
const read = (path: string): Buffer => readFileSync(new URL(path, fixturesUrl));

describe('sample fixtures', () => {
  it('has 12 articles of 150–300 words, each with a unique id', () => {
    const files = readdirSync(new URL('articles/', fixturesUrl)).filter((name) => name.endsWith('.json'));
    assert.equal(files.length, 12);
    const ids = new Set<string>();
    for (const file of files) {
      const article = JSON.parse(read(`articles/${file}`).toString('utf8')) as { id?: unknown; title?: unknown; text?: unknown };
      assert.equal(typeof article.id, 'string', file);
      assert.equal(typeof article.title, 'string', file);
      assert.equal(typeof article.text, 'string', file);
      ids.add(article.id as string);
      const words = (article.text as string).split(/\s+/).filter(Boolean).length;
      assert.ok(words >= 150 && words <= 300, `${file}: ${words} words`);
    }
    assert.equal(ids.size, 12);
  });

  it('has 10 images in all four formats, exactly 3 carrying the FLAGGED marker', () => {
    const files = readdirSync(new URL('images/', fixturesUrl));
    assert.equal(files.length, 10);
    const types = new Set(files.map((file) => sniffImageType(read(`images/${file}`))));
    assert.deepEqual([...types].sort(), ['image/gif', 'image/jpeg', 'image/png', 'image/webp']);
    const flagged = files.filter((file) => read(`images/${file}`).includes(FLAG_MARKER)).sort();
    assert.deepEqual(flagged, ['badge.gif', 'mosaic.jpg', 'poster.png']);
    for (const file of files) assert.ok(read(`images/${file}`).length < 16 * 1024, `${file} stays small`);
  });

  it('keeps the misnamed text file out of the images folder', () => {
    assert.equal(sniffImageType(read('bad-images/not-really.png')), null);
  });

  it('matches what the generator script writes (the images can be rebuilt)', () => {
    for (const image of sampleImages()) {
      assert.deepEqual(read(image.path), image.bytes, image.path);
      assert.equal(image.bytes.includes(FLAG_MARKER), image.flagged, image.path);
    }
  });
});
