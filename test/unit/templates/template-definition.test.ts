import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import {
  endpointOfTemplate,
  MAX_IMAGE_BYTES,
  modelOf,
  placeholdersOf,
  SEED_MODERATION_PROMPT,
  SEED_SUMMARIZE_SYSTEM_PROMPT,
  templateDefinitionSchema,
  type TemplateDefinition,
} from '../../../src/pipelines/templates/template-definition.js';

const parse = (input: unknown): TemplateDefinition => templateDefinitionSchema.parse(input);
const refusal = (input: unknown): string => {
  const result = templateDefinitionSchema.safeParse(input);
  assert.equal(result.success, false, `expected ${JSON.stringify(input)} to be refused`);
  return result.success ? '' : z.prettifyError(result.error);
};

const minimal: Record<TemplateDefinition['type'], Record<string, unknown>> = {
  'image-moderation': { type: 'image-moderation' },
  summarize: { type: 'summarize' },
  chat: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Tell me about {{name}}' },
  responses: { type: 'responses', model: 'gpt-4.1-mini', prompt: 'Classify {{text}}' },
  embeddings: { type: 'embeddings', model: 'text-embedding-3-small', input: '{{text}}' },
};

describe('templateDefinitionSchema', () => {
  it('fills the image-moderation defaults from the seed use case', () => {
    assert.deepEqual(parse({ type: 'image-moderation' }), {
      type: 'image-moderation',
      model: 'gpt-4o-mini',
      detail: 'low',
      prompt: SEED_MODERATION_PROMPT,
      max_image_bytes: 20 * 1024 * 1024,
    });
    assert.match(SEED_MODERATION_PROMPT, /^Answer the following yes or no question with either 'Yes\.' or 'No\.'/);
  });

  it('fills the summarize defaults from the seed use case', () => {
    assert.deepEqual(parse({ type: 'summarize' }), {
      type: 'summarize',
      model: 'gpt-4o-mini',
      system_prompt: 'You are a helpful assistant that summarizes articles.',
      field: 'text',
      id_field: 'id',
    });
    assert.equal(SEED_SUMMARIZE_SYSTEM_PROMPT, 'You are a helpful assistant that summarizes articles.');
  });

  it('accepts every option of every type', () => {
    const full: unknown[] = [
      { type: 'image-moderation', model: 'gpt-4o', detail: 'high', prompt: 'Is it a cat?', max_image_bytes: 1024, max_tokens: 50, body: { temperature: 0 } },
      { type: 'summarize', model: 'gpt-4o', system_prompt: 'Be brief.', field: 'article.body', id_field: 'slug', max_tokens: 200, body: { temperature: 0.2 } },
      { type: 'chat', model: 'gpt-4o', system_prompt: 'You speak {{lang}}.', prompt: 'Hi {{name}}', body: { top_p: 1 } },
      { type: 'responses', model: 'gpt-4.1', instructions: 'Be terse.', prompt: '{{q}}', body: { max_output_tokens: 10 } },
      { type: 'embeddings', model: 'text-embedding-3-large', input: '{{text}}', dimensions: 256, body: { encoding_format: 'float' } },
    ];
    for (const input of full) assert.deepEqual(parse(input), input);
  });

  it('refuses unknown fields on every type instead of dropping them', () => {
    for (const [type, input] of Object.entries(minimal)) {
      const message = refusal({ ...input, max_token: 5 });
      assert.match(message, /Unrecognized key: "max_token"/, type);
    }
  });

  it('refuses a body that overrides model, messages or input, naming the key', () => {
    for (const key of ['model', 'messages', 'input']) {
      for (const [type, input] of Object.entries(minimal)) {
        const message = refusal({ ...input, body: { temperature: 0, [key]: 'x' } });
        assert.match(message, new RegExp(`body may not override "${key}"`), `${type} / ${key}`);
        assert.match(message, new RegExp(`at body\\.${key}`), `${type} / ${key}`);
      }
    }
  });

  it('checks the endpoint\'s known body parameters by type and range, naming the field', () => {
    const chatBodies = ['image-moderation', 'summarize', 'chat'] as const;
    const badChat: Array<[Record<string, unknown>, string]> = [
      [{ temperature: 'hot' }, 'temperature'],
      [{ temperature: 2.5 }, 'temperature'],
      [{ temperature: -0.1 }, 'temperature'],
      [{ top_p: 1.5 }, 'top_p'],
      [{ max_completion_tokens: 0 }, 'max_completion_tokens'],
      [{ max_completion_tokens: 10.5 }, 'max_completion_tokens'],
      [{ n: 0 }, 'n'],
      [{ presence_penalty: 3 }, 'presence_penalty'],
      [{ frequency_penalty: -2.5 }, 'frequency_penalty'],
      [{ seed: 1.5 }, 'seed'],
      [{ stop: 5 }, 'stop'],
      [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
      [{ response_format: 'json' }, 'response_format'],
      [{ response_format: { type: 'yaml' } }, 'response_format.type'],
      [{ response_format: { type: 'json_schema', json_schema: { name: 'has space' } } }, 'response_format.json_schema.name'],
      [{ logit_bias: { '50256': 101 } }, 'logit_bias.50256'],
      [{ top_logprobs: 21 }, 'top_logprobs'],
      [{ metadata: { k: 7 } }, 'metadata.k'],
      [{ stream: true }, 'stream'],
    ];
    for (const type of chatBodies) {
      for (const [body, field] of badChat) {
        const message = refusal({ ...minimal[type], body });
        assert.match(message, new RegExp(`at body\\.${field.replace(/\./g, '\\.')}`), `${type}: ${JSON.stringify(body)} → ${message}`);
      }
    }
    assert.match(refusal({ ...minimal.chat, body: { stream: true } }), /does not stream/);
    for (const [body, field] of [
      [{ max_output_tokens: -1 }, 'max_output_tokens'],
      [{ temperature: 3 }, 'temperature'],
      [{ text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
      [{ truncation: 'sometimes' }, 'truncation'],
    ] as const) {
      assert.match(refusal({ ...minimal.responses, body }), new RegExp(`at body\\.${field.replace(/\./g, '\\.')}`), JSON.stringify(body));
    }
    assert.match(refusal({ ...minimal.embeddings, body: { encoding_format: 'int8' } }), /at body\.encoding_format/);
  });

  it('accepts good values of known body parameters, and passes unknown ones through as given', () => {
    const chatBody = {
      temperature: 0,
      top_p: 0.5,
      max_completion_tokens: 300,
      n: 1,
      presence_penalty: -2,
      frequency_penalty: 2,
      seed: 42,
      stop: ['\n\n'],
      response_format: { type: 'json_schema', json_schema: { name: 'verdict', schema: { type: 'object' }, strict: true } },
      logit_bias: { '50256': -100 },
      reasoning_effort: 'low',
      metadata: { team: 'news' },
      stream: false,
      a_parameter_openai_adds_later: { anything: [1, 2] },
    };
    assert.deepEqual(parse({ ...minimal.chat, body: chatBody }), { ...minimal.chat, body: chatBody });
    assert.deepEqual(parse({ type: 'summarize', body: { stop: 'END', max_completion_tokens: 5 } }).body, { stop: 'END', max_completion_tokens: 5 });
    const responsesBody = { max_output_tokens: 64, text: { format: { type: 'json_schema', name: 'x', schema: {} } }, reasoning: { effort: 'minimal' }, brand_new: true };
    assert.deepEqual(parse({ ...minimal.responses, body: responsesBody }).body, responsesBody);
    assert.deepEqual(parse({ ...minimal.embeddings, body: { encoding_format: 'base64', user: 'u' } }).body, { encoding_format: 'base64', user: 'u' });
  });

  it('holds a body\'s metadata to OpenAI\'s bounds: 16 pairs, keys of 1-64 characters, values of at most 512', () => {
    const pairs = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    assert.deepEqual(parse({ ...minimal.chat, body: { metadata: pairs(16) } }).body, { metadata: pairs(16) });
    assert.match(refusal({ ...minimal.chat, body: { metadata: pairs(17) } }), /at most 16 pairs/);
    assert.match(refusal({ ...minimal.chat, body: { metadata: { ['k'.repeat(65)]: 'v' } } }), /Invalid key/);
    assert.match(refusal({ ...minimal.chat, body: { metadata: { '': 'v' } } }), /Invalid key/);
    assert.match(refusal({ ...minimal.chat, body: { metadata: { k: 'v'.repeat(513) } } }), /<=512 characters/);
  });

  it('refuses a body parameter that one of the template\'s own options sets', () => {
    for (const type of ['image-moderation', 'summarize'] as const) {
      assert.match(refusal({ ...minimal[type], body: { max_tokens: 50 } }), /body may not override "max_tokens": set the template's "max_tokens" instead/);
    }
    assert.equal((parse({ ...minimal.chat, body: { max_tokens: 50 } }).body as { max_tokens: number }).max_tokens, 50, 'chat has no max_tokens option of its own');
    assert.match(refusal({ ...minimal.embeddings, body: { dimensions: 256 } }), /body may not override "dimensions": set the template's "dimensions" instead/);
    assert.match(refusal({ ...minimal.responses, body: { instructions: 'x' } }), /body may not override "instructions"/);
  });

  it('refuses an unknown type and a missing type', () => {
    assert.match(refusal({ type: 'translate', model: 'x' }), /type/);
    assert.match(refusal({ model: 'x' }), /type/);
  });

  it('requires the model and the prompt/input of the placeholder templates', () => {
    assert.match(refusal({ type: 'chat', prompt: 'x' }), /model/);
    assert.match(refusal({ type: 'chat', model: 'm' }), /prompt/);
    assert.match(refusal({ type: 'responses', model: 'm' }), /prompt/);
    assert.match(refusal({ type: 'embeddings', model: 'm' }), /input/);
    assert.match(refusal({ type: 'chat', model: '', prompt: 'x' }), /model/);
  });

  it('caps max_image_bytes at OpenAI\'s per-image limit', () => {
    assert.equal(MAX_IMAGE_BYTES, 20_971_520);
    assert.equal((parse({ type: 'image-moderation', max_image_bytes: MAX_IMAGE_BYTES }) as { max_image_bytes: number }).max_image_bytes, MAX_IMAGE_BYTES);
    assert.match(refusal({ type: 'image-moderation', max_image_bytes: MAX_IMAGE_BYTES + 1 }), /max_image_bytes/);
    assert.match(refusal({ type: 'image-moderation', max_image_bytes: 0 }), /max_image_bytes/);
    assert.match(refusal({ type: 'image-moderation', detail: 'medium' }), /detail/);
    assert.match(refusal({ type: 'summarize', max_tokens: 1.5 }), /max_tokens/);
  });

  it('refuses malformed placeholders when the template is defined', () => {
    assert.match(refusal({ type: 'chat', model: 'm', prompt: 'Hello {{first name}}' }), /malformed placeholder \{\{first name\}\}/);
    assert.match(refusal({ type: 'responses', model: 'm', prompt: 'x', instructions: '{{}}' }), /malformed placeholder/);
    assert.match(refusal({ type: 'embeddings', model: 'm', input: '{{a..b}}' }), /malformed placeholder/);
  });

  it('converts to JSON Schema (for the OpenAPI docs)', () => {
    const schema = z.toJSONSchema(templateDefinitionSchema, { io: 'input' }) as { oneOf?: unknown[] };
    assert.equal(schema.oneOf?.length, 5);
  });
});

describe('endpointOfTemplate / modelOf / placeholdersOf', () => {
  it('maps each type to its Batch API endpoint', () => {
    assert.equal(endpointOfTemplate(parse(minimal['image-moderation'])), '/v1/chat/completions');
    assert.equal(endpointOfTemplate(parse(minimal.summarize)), '/v1/chat/completions');
    assert.equal(endpointOfTemplate(parse(minimal.chat)), '/v1/chat/completions');
    assert.equal(endpointOfTemplate(parse(minimal.responses)), '/v1/responses');
    assert.equal(endpointOfTemplate(parse(minimal.embeddings)), '/v1/embeddings');
  });

  it('gives the model, defaulted or explicit', () => {
    assert.equal(modelOf(parse(minimal.summarize)), 'gpt-4o-mini');
    assert.equal(modelOf(parse(minimal.embeddings)), 'text-embedding-3-small');
  });

  it('lists the placeholders of prompts, system prompts and instructions, once each', () => {
    assert.deepEqual(placeholdersOf(parse({ type: 'chat', model: 'm', system_prompt: 'Answer in {{lang}}.', prompt: '{{ meta.title }}: {{text}} ({{lang}})' })), [
      'lang',
      'meta.title',
      'text',
    ]);
    assert.deepEqual(placeholdersOf(parse({ type: 'responses', model: 'm', instructions: 'As {{role}}', prompt: '{{q}}' })), ['role', 'q']);
    assert.deepEqual(placeholdersOf(parse({ type: 'embeddings', model: 'm', input: '{{title}}\n{{body}}' })), ['title', 'body']);
    assert.deepEqual(placeholdersOf(parse({ type: 'chat', model: 'm', prompt: 'no placeholders' })), []);
  });

  it('lists none for image-moderation and summarize (their items may be stored objects)', () => {
    assert.deepEqual(placeholdersOf(parse(minimal['image-moderation'])), []);
    assert.deepEqual(placeholdersOf(parse(minimal.summarize)), []);
  });
});
