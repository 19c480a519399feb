import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimateTokens } from '../../../src/lib/token-estimate.js';
import { buildRequestBody } from '../../../src/pipelines/templates/build-request-body.js';
import { templateDefinitionSchema } from '../../../src/pipelines/templates/template-definition.js';
import type { TemplateItem } from '../../../src/pipelines/templates/template-item.js';
import { encodeRequestLine } from '../../../src/runs/request-line.js';
import type { ShardLine } from '../../../src/runs/shard-line.js';

const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('pixels and more pixels, ünïcødé bytes')]);

/** What a shard held for a request before lines were spliced: the whole request through JSON.stringify, and its estimate. */
const plain = (customId: string, endpoint: string, body: Record<string, unknown>): { bytes: Buffer; estimatedTokens: number } => {
  const json = JSON.stringify({ custom_id: customId, method: 'POST', url: endpoint, body });
  return { bytes: Buffer.from(`${json}\n`), estimatedTokens: estimateTokens(json) };
};

/** The bytes a shard file gets for a line. */
const bytesOf = (line: ShardLine): Buffer => {
  const bytes = Buffer.alloc(line.byteLength + 2, 0x2a);
  line.writeTo(bytes, 1);
  // Exactly byteLength bytes, no more: the guard bytes around them are untouched.
  assert.equal(bytes[0], 0x2a);
  assert.equal(bytes[bytes.length - 1], 0x2a);
  return bytes.subarray(1, -1);
};

const lineFor = async (templateInput: Record<string, unknown>, item: TemplateItem) => {
  const built = await buildRequestBody(templateDefinitionSchema.parse(templateInput), item, {});
  assert.ok(built.ok, JSON.stringify(built));
  const line = encodeRequestLine('c-1', '/v1/chat/completions', built.body, built.inlineImages);
  return { built, line: { bytes: bytesOf(line), estimatedTokens: line.estimatedTokens } };
};

describe('encodeRequestLine', () => {
  it('gives the bytes and token estimate of the whole request stringified, with the image copied in', async () => {
    const cases: [Record<string, unknown>, TemplateItem][] = [
      [{ type: 'image-moderation' }, { image_base64: png.toString('base64') }],
      [{ type: 'image-moderation', detail: 'high', max_tokens: 20, prompt: 'Décris « ça » — 画像 "quoted" \\ data:image/png;base64,AAAA' }, { image_base64: png.toString('base64') }],
      [{ type: 'image-moderation', body: { temperature: 0, metadata: { note: 'line\nbreak \u2028' } } }, { image_url: `data:image/jpeg;base64,${png.toString('base64')}` }],
    ];
    for (const [templateInput, item] of cases) {
      const { built, line } = await lineFor(templateInput, item);
      assert.equal(built.inlineImages.length, 1);
      const expected = plain('c-1', '/v1/chat/completions', built.body);
      assert.equal(line.bytes.toString(), expected.bytes.toString());
      assert.ok(line.bytes.equals(expected.bytes));
      assert.equal(line.estimatedTokens, expected.estimatedTokens);
    }
  });

  it('falls back to stringifying the whole request when the text holds the slot marker', async () => {
    const prompt = 'say "batchline:inline-image-slot" and "batchline:inline-image-slot';
    const { built, line } = await lineFor({ type: 'image-moderation', prompt }, { image_base64: png.toString('base64') });
    const expected = plain('c-1', '/v1/chat/completions', built.body);
    assert.ok(line.bytes.equals(expected.bytes));
    assert.equal(line.estimatedTokens, expected.estimatedTokens);
  });

  it('stringifies requests without inline images as they are', async () => {
    const { built, line } = await lineFor({ type: 'image-moderation' }, { image_url: 'https://example.com/a.png' });
    assert.equal(built.inlineImages.length, 0);
    const expected = plain('c-1', '/v1/chat/completions', built.body);
    assert.ok(line.bytes.equals(expected.bytes));
    assert.equal(line.estimatedTokens, expected.estimatedTokens);
  });
});
