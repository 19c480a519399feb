import type { S3Client } from '@aws-sdk/client-s3';
import { createItemSource } from '../sources/create-item-source.js';
import { FilteredItemSource } from '../sources/filtered-item-source.js';
import type { ItemSource, SourceObject } from '../sources/item-source.js';
import { S3ItemSource } from '../sources/s3-item-source.js';
import type { SourceDefinition } from '../sources/source-definition.js';
import type { SeenItems } from './seen-items.js';

/**
 * The pipeline's item source for a collection. Same as createItemSource,
 * except that an s3 source filtering on content types looks those up
 * (one HeadObject each) only for objects not already collected: every
 * collection lists the whole prefix, and HEADing every seen object each
 * time would cost a request per object per schedule.
 */
export function createCollectionSource(definition: SourceDefinition, s3: () => S3Client, seen: SeenItems): ItemSource {
  if (definition.type !== 's3' || definition.content_types === undefined) return createItemSource(definition, s3);
  const source = new S3ItemSource(s3(), definition.bucket, definition.prefix ?? '');
  return new FilteredItemSource(
    source,
    { suffixes: definition.suffixes, contentTypes: definition.content_types, maxObjectBytes: definition.max_object_bytes },
    async (objects) => source.withContentTypes(await unseen(objects, seen)),
  );
}

async function unseen(objects: readonly SourceObject[], seen: SeenItems): Promise<SourceObject[]> {
  const versions = await seen.versionsOf(objects.map((object) => object.key));
  return objects.filter((object, index) => versions[index] !== object.version);
}
