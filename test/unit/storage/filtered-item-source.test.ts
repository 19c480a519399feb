import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FilteredItemSource } from '../../../src/pipelines/sources/filtered-item-source.js';
import type { ItemSource, SourceObject } from '../../../src/pipelines/sources/item-source.js';

const object = (key: string, size = 10, contentType?: string): SourceObject => ({
  key,
  version: `v-${key}`,
  size,
  lastModified: '2025-01-01T00:00:00.000Z',
  ...(contentType === undefined ? {} : { contentType }),
});

function fakeSource(pages: SourceObject[][]): ItemSource {
  return {
    describe: () => 'fake',
    async *listPages() {
      yield* pages;
    },
    read: async (key, _maxBytes, use) => ({ ok: true, value: use(Buffer.from(key)) }),
  };
}

async function pagesOf(source: ItemSource): Promise<string[][]> {
  const pages: string[][] = [];
  for await (const page of source.listPages()) pages.push(page.map((item) => item.key));
  return pages;
}

describe('FilteredItemSource', () => {
  test('drops pages that filter down to nothing and keeps page boundaries otherwise', async () => {
    const source = new FilteredItemSource(
      fakeSource([[object('a.txt'), object('b.png')], [object('c.txt')], [object('d.PNG'), object('e.png', 11)]]),
      { suffixes: ['.png'], maxObjectBytes: 10 },
    );
    assert.deepEqual(await pagesOf(source), [['b.png'], ['d.PNG']]);
  });

  test('judges content types only where known, ignoring parameters and case', async () => {
    const source = new FilteredItemSource(
      fakeSource([[object('a', 1, 'image/PNG; q=1'), object('b', 1, 'text/plain'), object('c', 1), object('d', 1, 'image/jpeg')]]),
      { contentTypes: ['image/png', 'IMAGE/JPEG'] },
    );
    assert.deepEqual(await pagesOf(source), [['a', 'c', 'd']]);
  });

  test('looks content types up only for objects that passed the other filters', async () => {
    const looked: string[] = [];
    const source = new FilteredItemSource(
      fakeSource([[object('a.png'), object('b.txt'), object('c.png', 99)]]),
      { suffixes: ['.png'], contentTypes: ['image/*'], maxObjectBytes: 50 },
      async (objects) => {
        looked.push(...objects.map((item) => item.key));
        return objects.map((item) => ({ ...item, contentType: 'image/png' }));
      },
    );
    assert.deepEqual(await pagesOf(source), [['a.png']]);
    assert.deepEqual(looked, ['a.png']);
  });

  test('without content types configured, never looks them up', async () => {
    const source = new FilteredItemSource(fakeSource([[object('a.png')]]), {}, () => assert.fail('no lookup'));
    assert.deepEqual(await pagesOf(source), [['a.png']]);
  });
});
