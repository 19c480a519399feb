import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildRequestBody, type BuildRequestResult } from '../../../src/pipelines/templates/build-request-body.js';
import { MAX_ARTICLE_BYTES } from '../../../src/pipelines/templates/article-text.js';
import type { ItemErrorCode } from '../../../src/pipelines/templates/item-error.js';
import { SEED_MODERATION_PROMPT, templateDefinitionSchema, type TemplateDefinition } from '../../../src/pipelines/templates/template-definition.js';
import { lendBytes, readBounded } from '../../../src/lib/read-bounded.js';
import type { ReadObject } from '../../../src/pipelines/templates/template-item.js';

/** Streams a test object's bytes, as a source's open does. */
type OpenObject = (key: string) => Promise<Readable>;
/** Reads through a stream the way the S3 source does (readBounded), so the bound is tested on real streams. */
const reading =
  (open: OpenObject): ReadObject =>
  async (key, maxBytes, use) =>
    lendBytes(await readBounded(await open(key), maxBytes), use);

const fixturesDir = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const fixture = (path: string): Buffer => readFileSync(`${fixturesDir}${path}`);
/** Opens keys as paths under fixtures/, like the local-folder source does. */
const openFixture: OpenObject = async (key) => createReadStream(`${fixturesDir}${key}`);
/** Opens keys from an in-memory map; an unknown key is "not found". */
const openFrom =
  (objects: Record<string, Buffer | string>): OpenObject =>
  async (key) => {
    const body = objects[key];
    if (body === undefined) throw new Error(`object not found: ${key}`);
    return Readable.from([Buffer.from(body)]);
  };

const template = (input: Record<string, unknown>): TemplateDefinition => templateDefinitionSchema.parse(input);
const moderation = template({ type: 'image-moderation' });
const summarize = template({ type: 'summarize' });

const body = (result: BuildRequestResult): Record<string, unknown> => {
  assert.ok(result.ok, JSON.stringify(result));
  return result.body;
};
const failsWith = (result: BuildRequestResult, code: ItemErrorCode, message?: RegExp): void => {
  assert.equal(result.ok, false, `expected ${code}, got a body`);
  if (result.ok) return;
  assert.equal(result.error.code, code, result.error.message);
  if (message) assert.match(result.error.message, message);
};

/** The data URL sent for a moderation body, for a closer look. */
const imageUrlOf = (requestBody: Record<string, unknown>): string => {
  const messages = requestBody.messages as { content: { type: string; image_url?: { url: string } }[] }[];
  const url = messages[0]?.content[1]?.image_url?.url;
  assert.equal(typeof url, 'string');
  return url as string;
};

describe('buildRequestBody: image-moderation', () => {
  it('builds the seed chat-completions body from a stored image', async () => {
    const png = fixture('images/sunset.png');
    const result = await buildRequestBody(moderation, { key: 'images/sunset.png', version: 'v1', size: png.length }, { readObject: reading(openFixture) });
    assert.deepEqual(body(result), {
      model: 'gpt-4o-mini',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: SEED_MODERATION_PROMPT },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}`, detail: 'low' } },
          ],
        },
      ],
    });
  });

  it('sends every sample image with its sniffed type, markers intact', async () => {
    const types: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };
    for (const name of ['sunset.png', 'poster.png', 'harbour.jpg', 'mosaic.jpg', 'stripes.gif', 'badge.gif', 'checkers.webp', 'rings.webp']) {
      const url = imageUrlOf(body(await buildRequestBody(moderation, { key: `images/${name}` }, { readObject: reading(openFixture) })));
      const [, type, base64] = /^data:([^;]+);base64,(.*)$/.exec(url) ?? [];
      assert.equal(type, types[name.split('.')[1] ?? ''], name);
      assert.deepEqual(Buffer.from(base64 ?? '', 'base64'), fixture(`images/${name}`), name);
    }
  });

  it('trusts the bytes, not the name', async () => {
    const jpeg = fixture('images/harbour.jpg');
    const url = imageUrlOf(body(await buildRequestBody(moderation, { key: 'upload.png' }, { readObject: reading(openFrom({ 'upload.png': jpeg })) })));
    assert.ok(url.startsWith('data:image/jpeg;base64,'));
    failsWith(await buildRequestBody(moderation, { key: 'bad-images/not-really.png' }, { readObject: reading(openFixture) }), 'not_an_image', /not-really\.png/);
    failsWith(await buildRequestBody(moderation, { key: 'empty.png' }, { readObject: reading(openFrom({ 'empty.png': '' })) }), 'not_an_image');
  });

  it('passes detail, max_tokens and body extras', async () => {
    const t = template({ type: 'image-moderation', model: 'gpt-4o', detail: 'high', prompt: 'Is this a cat?', max_tokens: 30, body: { temperature: 0, seed: 7 } });
    const result = body(await buildRequestBody(t, { key: 'images/badge.gif' }, { readObject: reading(openFixture) }));
    assert.equal(result.model, 'gpt-4o');
    assert.equal(result.max_tokens, 30);
    assert.equal(result.temperature, 0);
    assert.equal(result.seed, 7);
    const content = (result.messages as { content: unknown[] }[])[0]?.content;
    assert.deepEqual(content?.[0], { type: 'text', text: 'Is this a cat?' });
    assert.equal((content?.[1] as { image_url: { detail: string } }).image_url.detail, 'high');
  });

  it('refuses an image over max_image_bytes from the listing\'s size without opening it', async () => {
    let opened = false;
    const openObject: OpenObject = async (key) => {
      opened = true;
      return openFixture(key);
    };
    const t = template({ type: 'image-moderation', max_image_bytes: 1000 });
    failsWith(await buildRequestBody(t, { key: 'images/sunset.png', size: 7522 }, { readObject: reading(openObject) }), 'image_too_large', /7522 bytes.*1000/);
    assert.equal(opened, false);
  });

  it('stops reading an endless stream as soon as max_image_bytes is passed', async () => {
    let chunksRead = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    chunk.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const endless = Readable.from(
      (function* () {
        for (;;) {
          chunksRead++;
          yield chunk;
        }
      })(),
    );
    const t = template({ type: 'image-moderation', max_image_bytes: 1024 * 1024 });
    // No size in the item: a listing may not know it, or may be wrong.
    failsWith(await buildRequestBody(t, { key: 'huge.png' }, { readObject: reading(async () => endless) }), 'image_too_large');
    assert.ok(chunksRead <= 20, `read ${chunksRead} chunks of 64 KiB for a 1 MiB limit`);
    assert.equal(endless.destroyed, true);
  });

  it('accepts an image exactly at max_image_bytes', async () => {
    const png = fixture('images/meadow.png');
    const t = template({ type: 'image-moderation', max_image_bytes: png.length });
    body(await buildRequestBody(t, { key: 'm.png', size: png.length }, { readObject: reading(openFrom({ 'm.png': png })) }));
    failsWith(await buildRequestBody(template({ type: 'image-moderation', max_image_bytes: png.length - 1 }), { key: 'm.png' }, { readObject: reading(openFrom({ 'm.png': png })) }), 'image_too_large');
  });

  it('reports an object that cannot be opened or read as unreadable_item', async () => {
    failsWith(await buildRequestBody(moderation, { key: 'gone.png' }, { readObject: reading(openFrom({})) }), 'unreadable_item', /gone\.png.*not found/);
    const broken: OpenObject = async () =>
      new Readable({
        read() {
          this.destroy(new Error('connection reset'));
        },
      });
    failsWith(await buildRequestBody(moderation, { key: 'flaky.png' }, { readObject: reading(broken) }), 'unreadable_item', /connection reset/);
    failsWith(await buildRequestBody(moderation, { key: 'images/sunset.png' }, {}), 'unreadable_item');
  });

  it('takes a POSTed image as base64 or a data URL, sniffing and size-checking it', async () => {
    const gif = fixture('images/stripes.gif');
    const expected = `data:image/gif;base64,${gif.toString('base64')}`;
    assert.equal(imageUrlOf(body(await buildRequestBody(moderation, { id: 'p1', image_base64: gif.toString('base64') }, {}))), expected);
    // A declared type that is wrong is replaced by the sniffed one.
    assert.equal(imageUrlOf(body(await buildRequestBody(moderation, { id: 'p2', image_url: `data:image/png;base64,${gif.toString('base64')}` }, {}))), expected);
    assert.equal(imageUrlOf(body(await buildRequestBody(moderation, { id: 'p3', image_base64: `data:image/gif;base64,${gif.toString('base64')}` }, {}))), expected);
    const small = template({ type: 'image-moderation', max_image_bytes: 100 });
    failsWith(await buildRequestBody(small, { image_base64: gif.toString('base64') }, {}), 'image_too_large');
    failsWith(await buildRequestBody(moderation, { image_base64: Buffer.from('just text').toString('base64') }, {}), 'not_an_image');
  });

  it('passes an http(s) image URL through for OpenAI to fetch', async () => {
    const url = 'https://example.com/cat.png?size=large';
    assert.equal(imageUrlOf(body(await buildRequestBody(moderation, { id: 'u1', image_url: url }, {}))), url);
  });

  it('refuses malformed POSTed images', async () => {
    failsWith(await buildRequestBody(moderation, { image_base64: 'not base64!!' }, {}), 'invalid_item', /base64/);
    failsWith(await buildRequestBody(moderation, { image_base64: '' }, {}), 'empty_item');
    failsWith(await buildRequestBody(moderation, { image_url: 'data:image/png,rawbytes' }, {}), 'invalid_item', /base64/);
    failsWith(await buildRequestBody(moderation, { image_url: 'ftp://example.com/cat.png' }, {}), 'invalid_item');
    failsWith(await buildRequestBody(moderation, { image_url: 'file:///etc/passwd' }, {}), 'invalid_item');
  });

  it('refuses an item with no image at all as missing_field', async () => {
    failsWith(await buildRequestBody(moderation, { id: 'x', text: 'hello' }, {}), 'missing_field', /key.*image_url.*image_base64/);
  });
});

describe('buildRequestBody: summarize', () => {
  it('builds the seed body from a POSTed article', async () => {
    assert.deepEqual(body(await buildRequestBody(summarize, { id: 'a1', text: 'The article.' }, {})), {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are a helpful assistant that summarizes articles.' },
        { role: 'user', content: 'The article.' },
      ],
    });
  });

  it('reads a custom (dotted) field, with max_tokens and extras', async () => {
    const t = template({ type: 'summarize', field: 'article.body', system_prompt: 'Summarise in French.', max_tokens: 120, body: { temperature: 0.3 } });
    assert.deepEqual(body(await buildRequestBody(t, { id: 'a2', article: { body: 'Texte.' } }, {})), {
      temperature: 0.3,
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Summarise in French.' },
        { role: 'user', content: 'Texte.' },
      ],
      max_tokens: 120,
    });
  });

  it('summarises every sample article, POSTed or as a stored .json object', async () => {
    for (let n = 1; n <= 12; n++) {
      const key = `articles/article-${String(n).padStart(3, '0')}.json`;
      const article = JSON.parse(fixture(key).toString('utf8')) as { id: string; text: string };
      const posted = body(await buildRequestBody(summarize, article, {}));
      const stored = body(await buildRequestBody(summarize, { key }, { readObject: reading(openFixture) }));
      assert.deepEqual(stored, posted, key);
      assert.equal((posted.messages as { content: string }[])[1]?.content, article.text);
    }
  });

  it('carries the id a stored .json article gives itself (its id_field, else id), for its result line', async () => {
    const stored = await buildRequestBody(summarize, { key: 'articles/article-001.json' }, { readObject: reading(openFixture) });
    assert.ok(stored.ok);
    assert.equal(stored.storedId, (JSON.parse(fixture('articles/article-001.json').toString('utf8')) as { id: string }).id);
    const openObject = openFrom({ 'slug.json': JSON.stringify({ slug: 'night-trains', id: 'x', text: 'T.' }), 'odd.json': JSON.stringify({ id: { a: 1 }, text: 'T.' }), 'a.txt': 'T.' });
    const storedIdOf = async (t: TemplateDefinition, key: string) => {
      const result = await buildRequestBody(t, { key }, { readObject: reading(openObject) });
      assert.ok(result.ok);
      return result.storedId;
    };
    assert.equal(await storedIdOf(template({ type: 'summarize', id_field: 'slug' }), 'slug.json'), 'night-trains');
    assert.equal(await storedIdOf(summarize, 'slug.json'), 'x');
    assert.equal(await storedIdOf(summarize, 'odd.json'), null);
    assert.equal(await storedIdOf(summarize, 'a.txt'), null);
    // A POSTed item's id is its own; the build reads none.
    const posted = await buildRequestBody(summarize, { id: 'a1', text: 'T.' }, {});
    assert.ok(posted.ok);
    assert.equal(posted.storedId, null);
  });

  it('reads .txt and .md objects as text', async () => {
    const openObject = openFrom({ 'a.txt': 'Plain text.', 'notes/b.md': '# Title\n\nMarkdown.', 'c.MARKDOWN': 'Upper.' });
    for (const [key, text] of [['a.txt', 'Plain text.'], ['notes/b.md', '# Title\n\nMarkdown.'], ['c.MARKDOWN', 'Upper.']] as const) {
      assert.equal((body(await buildRequestBody(summarize, { key }, { readObject: reading(openObject) })).messages as { content: string }[])[1]?.content, text, key);
    }
  });

  it('reads a .json object\'s field, else content, else body', async () => {
    const t = template({ type: 'summarize', field: 'article' });
    const openObject = openFrom({
      'field.json': JSON.stringify({ article: 'From field.', content: 'no', body: 'no' }),
      'content.json': JSON.stringify({ content: 'From content.', body: 'no' }),
      'body.json': JSON.stringify({ body: 'From body.' }),
      'none.json': JSON.stringify({ title: 'Nothing to read' }),
    });
    const userText = async (key: string) => (body(await buildRequestBody(t, { key }, { readObject: reading(openObject) })).messages as { content: string }[])[1]?.content;
    assert.equal(await userText('field.json'), 'From field.');
    assert.equal(await userText('content.json'), 'From content.');
    assert.equal(await userText('body.json'), 'From body.');
    failsWith(await buildRequestBody(t, { key: 'none.json' }, { readObject: reading(openObject) }), 'missing_field', /article.*content.*body/);
  });

  it('reports each kind of unusable article with its own code', async () => {
    const openObject = openFrom({
      'bad.json': '{ not json',
      'list.json': '[1, 2]',
      'number.json': JSON.stringify({ text: 42 }),
      'latin1.txt': Buffer.from([0x63, 0x61, 0x66, 0xe9]),
      'blank.md': '  \n\t ',
      'doc.pdf': '%PDF-1.7',
    });
    failsWith(await buildRequestBody(summarize, { key: 'bad.json' }, { readObject: reading(openObject) }), 'invalid_item', /JSON/);
    failsWith(await buildRequestBody(summarize, { key: 'list.json' }, { readObject: reading(openObject) }), 'invalid_item', /object/);
    failsWith(await buildRequestBody(summarize, { key: 'number.json' }, { readObject: reading(openObject) }), 'invalid_item', /number/);
    failsWith(await buildRequestBody(summarize, { key: 'latin1.txt' }, { readObject: reading(openObject) }), 'invalid_item', /UTF-8/);
    failsWith(await buildRequestBody(summarize, { key: 'blank.md' }, { readObject: reading(openObject) }), 'empty_item');
    failsWith(await buildRequestBody(summarize, { key: 'doc.pdf' }, { readObject: reading(openObject) }), 'unsupported_item', /\.pdf|\.txt/);
    failsWith(await buildRequestBody(summarize, { key: 'gone.txt' }, { readObject: reading(openObject) }), 'unreadable_item');
    failsWith(await buildRequestBody(summarize, { key: 'huge.txt', size: MAX_ARTICLE_BYTES + 1 }, { readObject: reading(openObject) }), 'item_too_large');
    failsWith(await buildRequestBody(summarize, { key: 'huge.txt' }, { readObject: reading(async () => Readable.from([Buffer.alloc(MAX_ARTICLE_BYTES + 1, 0x61)])) }), 'item_too_large');
  });

  it('reports a POSTed article without usable text', async () => {
    failsWith(await buildRequestBody(summarize, { id: 'a1' }, {}), 'missing_field', /"text"/);
    failsWith(await buildRequestBody(summarize, { id: 'a1', text: null }, {}), 'missing_field');
    failsWith(await buildRequestBody(summarize, { id: 'a1', text: '   ' }, {}), 'empty_item');
    failsWith(await buildRequestBody(summarize, { id: 'a1', text: ['para'] }, {}), 'invalid_item', /array/);
  });
});

describe('buildRequestBody: chat, responses, embeddings', () => {
  const item = { id: 'i1', name: 'Ada', meta: { title: 'Notes', tags: ['x', 'y'] }, lang: 'English' };

  it('chat: system prompt and prompt rendered, extras passed', async () => {
    const t = template({ type: 'chat', model: 'gpt-4o', system_prompt: 'Answer in {{lang}}.', prompt: 'Greet {{name}} about {{meta.title}} {{meta.tags}}', body: { temperature: 1 } });
    assert.deepEqual(body(await buildRequestBody(t, item, {})), {
      temperature: 1,
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Answer in English.' },
        { role: 'user', content: 'Greet Ada about Notes ["x","y"]' },
      ],
    });
  });

  it('chat: no system message without a system prompt', async () => {
    const t = template({ type: 'chat', model: 'm', prompt: 'Hi {{name}}' });
    assert.deepEqual(body(await buildRequestBody(t, item, {})), { model: 'm', messages: [{ role: 'user', content: 'Hi Ada' }] });
  });

  it('responses: input and instructions rendered', async () => {
    const t = template({ type: 'responses', model: 'gpt-4.1-mini', instructions: 'Reply in {{lang}}.', prompt: 'Who is {{name}}?', body: { max_output_tokens: 50 } });
    assert.deepEqual(body(await buildRequestBody(t, item, {})), { max_output_tokens: 50, model: 'gpt-4.1-mini', instructions: 'Reply in English.', input: 'Who is Ada?' });
    const bare = template({ type: 'responses', model: 'm', prompt: '{{name}}' });
    assert.deepEqual(body(await buildRequestBody(bare, item, {})), { model: 'm', input: 'Ada' });
  });

  it('embeddings: input rendered, dimensions passed', async () => {
    const t = template({ type: 'embeddings', model: 'text-embedding-3-small', input: '{{meta.title}}: {{name}}', dimensions: 256, body: { encoding_format: 'float' } });
    assert.deepEqual(body(await buildRequestBody(t, item, {})), { encoding_format: 'float', dimensions: 256, model: 'text-embedding-3-small', input: 'Notes: Ada' });
    const plain = template({ type: 'embeddings', model: 'm', input: '{{name}}' });
    assert.deepEqual(body(await buildRequestBody(plain, item, {})), { model: 'm', input: 'Ada' });
    failsWith(await buildRequestBody(plain, { name: '  ' }, {}), 'empty_item');
  });

  it('a missing placeholder field is an item error naming it, in any of the three', async () => {
    const templates = [
      template({ type: 'chat', model: 'm', prompt: '{{name}} / {{missing.field}}' }),
      template({ type: 'chat', model: 'm', system_prompt: '{{missing.field}}', prompt: '{{name}}' }),
      template({ type: 'responses', model: 'm', prompt: '{{missing.field}}' }),
      template({ type: 'responses', model: 'm', instructions: '{{missing.field}}', prompt: '{{name}}' }),
      template({ type: 'embeddings', model: 'm', input: '{{missing.field}}' }),
    ];
    for (const t of templates) failsWith(await buildRequestBody(t, item, {}), 'missing_field', /\{\{missing\.field\}\}/);
  });

  it('does not touch the item', async () => {
    const frozen = Object.freeze({ name: 'Ada', nested: Object.freeze({ a: 1 }) });
    body(await buildRequestBody(template({ type: 'chat', model: 'm', prompt: '{{name}} {{nested}}' }), frozen, {}));
  });
});
