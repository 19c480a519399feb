import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlagged } from '../../../src/pipelines/templates/parse-flagged.js';
import { parseOutput } from '../../../src/pipelines/templates/parse-output.js';
import { templateDefinitionSchema, type TemplateDefinition } from '../../../src/pipelines/templates/template-definition.js';

const template = (input: Record<string, unknown>): TemplateDefinition => templateDefinitionSchema.parse(input);
const moderation = template({ type: 'image-moderation' });
const summarize = template({ type: 'summarize' });
const chat = template({ type: 'chat', model: 'm', prompt: '{{q}}' });
const responses = template({ type: 'responses', model: 'm', prompt: '{{q}}' });
const embeddings = template({ type: 'embeddings', model: 'm', input: '{{q}}' });

const chatBody = (content: unknown) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop' }],
});

describe('parseFlagged', () => {
  const table: [string | null, boolean | null][] = [
    ['Yes.', true],
    ['Yes. The image shows nudity.', true],
    ['yes', true],
    ['YES', true],
    ['Yes,', true],
    ['Yes, it does.', true],
    ['Yes!', true],
    ['Yes\nThe picture…', true],
    ['  \n Yes.', true],
    ['"Yes."', true],
    ["'Yes.'", true],
    ['“Yes.” The image…', true],
    ['**Yes.**', true],
    ['**YES** - explicit', true],
    ['__Yes__', true],
    ['*yes*', true],
    ['> Yes.', true],
    ['# Yes', true],
    ['- Yes.', true],
    ['No.', false],
    ['No. The image shows a sunset.', false],
    ['no', false],
    ['NO', false],
    ['No,', false],
    ['No - a landscape.', false],
    ['**No.** It is a checkerboard.', false],
    ['"No"', false],
    ['  no.', false],
    ['Not explicit.', null],
    ['None of the content is explicit.', null],
    ['Nope', null],
    ['Yesterday I saw…', null],
    ['Yess', null],
    ['Answer: Yes.', null],
    ['The answer is no.', null],
    ["I'm sorry, I can't help with that.", null],
    ['', null],
    ['   ', null],
    ['**', null],
    [null, null],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${String(expected)}`, () => assert.equal(parseFlagged(text), expected));
  }
});

describe('parseOutput', () => {
  it('image-moderation: the text and the flag', () => {
    assert.deepEqual(parseOutput(moderation, chatBody('Yes. The image contains explicit content.')), {
      text: 'Yes. The image contains explicit content.',
      flagged: true,
    });
    assert.deepEqual(parseOutput(moderation, chatBody('No. The image shows a sunset.')), { text: 'No. The image shows a sunset.', flagged: false });
  });

  it('image-moderation: an unparseable answer or no answer is flagged null, text kept', () => {
    assert.deepEqual(parseOutput(moderation, chatBody('I cannot tell.')), { text: 'I cannot tell.', flagged: null });
    assert.deepEqual(parseOutput(moderation, chatBody(null)), { text: null, flagged: null });
    assert.deepEqual(parseOutput(moderation, { error: 'odd' }), { text: null, flagged: null });
  });

  it('summarize and chat: choices[0].message.content, no flag', () => {
    assert.deepEqual(parseOutput(summarize, chatBody('A short summary.')), { text: 'A short summary.' });
    assert.deepEqual(parseOutput(chat, chatBody('Hello!')), { text: 'Hello!' });
  });

  it('chat: content given as text parts is joined', () => {
    assert.deepEqual(parseOutput(chat, chatBody([{ type: 'text', text: 'Hel' }, { type: 'refusal', refusal: 'x' }, { type: 'text', text: 'lo' }])), { text: 'Hello' });
  });

  it('responses: every output_text of every message, joined', () => {
    const body = {
      id: 'resp_1',
      object: 'response',
      output: [
        { type: 'reasoning', id: 'rs_1', summary: [] },
        {
          type: 'message',
          role: 'assistant',
          content: [
            { type: 'output_text', text: 'Hello, ', annotations: [] },
            { type: 'refusal', refusal: 'no' },
            { type: 'output_text', text: 'world.', annotations: [] },
          ],
        },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: ' Again.', annotations: [] }] },
      ],
    };
    assert.deepEqual(parseOutput(responses, body), { text: 'Hello, world. Again.' });
  });

  it('responses: no output_text is text null', () => {
    assert.deepEqual(parseOutput(responses, { output: [{ type: 'message', content: [{ type: 'refusal', refusal: 'no' }] }] }), { text: null });
    assert.deepEqual(parseOutput(responses, { output: 'nope' }), { text: null });
  });

  it('embeddings: the dimensions only, from a float array or base64 floats', () => {
    const vector = [0.1, -0.2, 0.3, 0.4];
    assert.deepEqual(parseOutput(embeddings, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: vector }] }), {
      text: null,
      embedding_dimensions: 4,
    });
    const base64 = Buffer.from(new Float32Array([0.5, 0.25, 1]).buffer).toString('base64');
    assert.deepEqual(parseOutput(embeddings, { data: [{ embedding: base64 }] }), { text: null, embedding_dimensions: 3 });
    assert.deepEqual(parseOutput(embeddings, { data: [] }), { text: null });
  });

  it('never throws on bodies of the wrong shape', () => {
    for (const body of [null, undefined, 42, 'text', [], { choices: 'x' }, { choices: [null] }, { choices: [{ message: 7 }] }, { data: [{ embedding: 5 }] }]) {
      for (const t of [moderation, summarize, chat, responses, embeddings]) {
        assert.equal(parseOutput(t, body).text, null, `${t.type} ${JSON.stringify(body)}`);
      }
    }
  });
});
