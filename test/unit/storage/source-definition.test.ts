import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IMAGE_SUFFIXES, sourceDefinitionSchema, type SourceDefinition } from '../../../src/pipelines/sources/source-definition.js';

function issues(input: unknown): string[] {
  const result = sourceDefinitionSchema.safeParse(input);
  assert.equal(result.success, false, `expected ${JSON.stringify(input)} to be refused`);
  return result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
}

describe('source definition schema', () => {
  test('accepts the product’s s3 and local shapes', () => {
    const s3: SourceDefinition = sourceDefinitionSchema.parse({ type: 's3', bucket: 'uploads', prefix: 'images/' });
    assert.deepEqual(s3, { type: 's3', bucket: 'uploads', prefix: 'images/' });
    const full = sourceDefinitionSchema.parse({
      type: 's3',
      bucket: 'my.uploads-1',
      suffixes: [...IMAGE_SUFFIXES],
      content_types: ['image/png', 'image/*'],
      max_object_bytes: 20_000_000,
      max_items_per_run: 50_000,
    });
    assert.equal(full.type, 's3');
    assert.deepEqual(sourceDefinitionSchema.parse({ type: 'local', path: './inbox', suffixes: ['.md'] }), {
      type: 'local',
      path: './inbox',
      suffixes: ['.md'],
    });
  });

  test('the image preset covers the formats vision models take', () => {
    assert.deepEqual([...IMAGE_SUFFIXES], ['.png', '.jpg', '.jpeg', '.gif', '.webp']);
  });

  test('refuses unknown fields, naming them', () => {
    assert.ok(issues({ type: 's3', bucket: 'uploads', prefx: 'images/' }).some((issue) => issue.includes('prefx')));
    assert.ok(issues({ type: 'local', path: 'x', content_types: ['image/png'] }).some((issue) => issue.includes('content_types')));
    assert.ok(issues({ type: 'local', path: 'x', bucket: 'uploads' }).some((issue) => issue.includes('bucket')));
  });

  test('refuses a missing bucket or path, and an unknown type', () => {
    assert.ok(issues({ type: 's3', prefix: 'images/' }).some((issue) => issue.startsWith('bucket:')));
    assert.ok(issues({ type: 'local' }).some((issue) => issue.startsWith('path:')));
    assert.ok(issues({ type: 'local', path: '' }).some((issue) => issue.startsWith('path:')));
    assert.ok(issues({ type: 'http', url: 'x' }).some((issue) => issue.startsWith('type:')));
    issues({ bucket: 'uploads' });
  });

  test('refuses bad values', () => {
    assert.ok(issues({ type: 's3', bucket: 'Uploads_Bucket' }).some((issue) => issue.startsWith('bucket:')));
    assert.ok(issues({ type: 's3', bucket: 'uploads', suffixes: [] }).some((issue) => issue.startsWith('suffixes')));
    assert.ok(issues({ type: 's3', bucket: 'uploads', suffixes: [''] }).some((issue) => issue.startsWith('suffixes.0')));
    assert.ok(issues({ type: 's3', bucket: 'uploads', content_types: ['png'] }).some((issue) => issue.startsWith('content_types.0')));
    assert.ok(issues({ type: 's3', bucket: 'uploads', max_object_bytes: 0 }).some((issue) => issue.startsWith('max_object_bytes')));
    assert.ok(issues({ type: 'local', path: 'x', max_items_per_run: 1.5 }).some((issue) => issue.startsWith('max_items_per_run')));
    assert.ok(issues({ type: 'local', path: 'x', settle_seconds: -1 }).some((issue) => issue.startsWith('settle_seconds')));
    assert.ok(issues({ type: 'local', path: 'x', settle_seconds: '5s' }).some((issue) => issue.startsWith('settle_seconds')));
    // S3 objects appear whole when their upload completes: nothing to settle.
    assert.ok(issues({ type: 's3', bucket: 'uploads', settle_seconds: 5 }).some((issue) => issue.includes('settle_seconds')));
    assert.deepEqual(sourceDefinitionSchema.parse({ type: 'local', path: 'x', settle_seconds: 0.5 }), { type: 'local', path: 'x', settle_seconds: 0.5 });
  });
});
