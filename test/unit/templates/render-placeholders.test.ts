import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  lookupPath,
  malformedPlaceholdersIn,
  placeholdersIn,
  renderPlaceholders,
} from '../../../src/pipelines/templates/render-placeholders.js';

const render = (text: string, item: Record<string, unknown>): string => {
  const result = renderPlaceholders(text, item);
  assert.ok(result.ok, JSON.stringify(result));
  return result.value;
};
const failure = (text: string, item: Record<string, unknown>) => {
  const result = renderPlaceholders(text, item);
  assert.equal(result.ok, false);
  return result.ok ? { code: '', message: '' } : result.error;
};

describe('renderPlaceholders', () => {
  it('fills plain and dotted fields, with or without spaces inside the braces', () => {
    const item = { title: 'Night trains', meta: { author: { name: 'Ada' } } };
    assert.equal(render('{{title}} by {{ meta.author.name }}', item), 'Night trains by Ada');
  });

  it('fills the same placeholder everywhere it appears', () => {
    assert.equal(render('{{a}}-{{a}}-{{ a }}', { a: 'x' }), 'x-x-x');
  });

  it('reads array elements by index', () => {
    assert.equal(render('first tag: {{tags.0}}', { tags: ['bees', 'city'] }), 'first tag: bees');
  });

  it('writes numbers and booleans as text', () => {
    assert.equal(render('{{n}} / {{ok}} / {{zero}}', { n: 3.5, ok: false, zero: 0 }), '3.5 / false / 0');
  });

  it('writes objects and arrays as compact JSON', () => {
    assert.equal(render('meta={{meta}} tags={{tags}}', { meta: { a: 1, b: 'x' }, tags: ['a', 'b'] }), 'meta={"a":1,"b":"x"} tags=["a","b"]');
  });

  it('keeps an empty string as it is', () => {
    assert.equal(render('[{{note}}]', { note: '' }), '[]');
  });

  it('is a missing_field error naming the placeholder when a field is absent', () => {
    const error = failure('Hello {{name}}', { id: 1 });
    assert.equal(error.code, 'missing_field');
    assert.match(error.message, /\{\{name\}\}/);
  });

  it('is a missing_field error for an absent dotted path, naming the whole path', () => {
    for (const item of [{}, { meta: {} }, { meta: 'text' }, { meta: null }, { meta: [1] }]) {
      const error = failure('{{meta.title}}', item);
      assert.equal(error.code, 'missing_field', JSON.stringify(item));
      assert.match(error.message, /\{\{meta\.title\}\}/);
    }
    assert.equal(failure('{{tags.5}}', { tags: ['a'] }).code, 'missing_field');
  });

  it('treats null as missing', () => {
    const error = failure('{{title}}', { title: null });
    assert.equal(error.code, 'missing_field');
    assert.match(error.message, /null/);
  });

  it('does not expand placeholders that arrive inside item values', () => {
    assert.equal(render('{{a}}', { a: '{{b}}', b: 'secret' }), '{{b}}');
  });

  it('does not reach into prototypes', () => {
    assert.equal(failure('{{constructor.name}}', {}).code, 'missing_field');
    assert.equal(failure('{{toString}}', {}).code, 'missing_field');
    assert.equal(failure('{{__proto__}}', {}).code, 'missing_field');
  });

  it('leaves text without placeholders alone, malformed braces included', () => {
    assert.equal(render('no {placeholders} here {{ }}', {}), 'no {placeholders} here {{ }}');
  });
});

describe('placeholdersIn / malformedPlaceholdersIn / lookupPath', () => {
  it('lists valid placeholders once, in order of first use', () => {
    assert.deepEqual(placeholdersIn('{{b}} {{a.c}} {{b}} {{ d-e_f }} {{bad one}}'), ['b', 'a.c', 'd-e_f']);
  });

  it('lists malformed placeholders', () => {
    assert.deepEqual(malformedPlaceholdersIn('{{ok}} {{}} {{a b}} {{a..b}} {{.a}} {{a.}}'), ['{{}}', '{{a b}}', '{{a..b}}', '{{.a}}', '{{a.}}']);
  });

  it('tells an absent field from a present falsy one', () => {
    assert.deepEqual(lookupPath({ a: 0 }, 'a'), { found: true, value: 0 });
    assert.deepEqual(lookupPath({ a: null }, 'a'), { found: true, value: null });
    assert.deepEqual(lookupPath({}, 'a'), { found: false });
  });
});
