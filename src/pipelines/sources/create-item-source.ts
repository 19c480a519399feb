import type { S3Client } from '@aws-sdk/client-s3';
import { FilteredItemSource } from './filtered-item-source.js';
import type { ItemSource } from './item-source.js';
import { LocalItemSource } from './local-item-source.js';
import { S3ItemSource } from './s3-item-source.js';
import { DEFAULT_SETTLE_SECONDS, type SourceDefinition } from './source-definition.js';

/**
 * The item source a pipeline's `source` describes, with its filters applied
 * in the listing. `max_items_per_run` is the collector's to apply: it alone
 * knows which listed items are new.
 */
export function createItemSource(definition: SourceDefinition, s3: () => S3Client): ItemSource {
  if (definition.type === 's3') {
    const source = new S3ItemSource(s3(), definition.bucket, definition.prefix ?? '');
    return new FilteredItemSource(
      source,
      { suffixes: definition.suffixes, contentTypes: definition.content_types, maxObjectBytes: definition.max_object_bytes },
      (objects) => source.withContentTypes(objects),
    );
  }
  // S3 needs no settle time: an object appears whole when its upload completes.
  const settleMs = (definition.settle_seconds ?? DEFAULT_SETTLE_SECONDS) * 1000;
  return new FilteredItemSource(new LocalItemSource(definition.path, settleMs), {
    suffixes: definition.suffixes,
    maxObjectBytes: definition.max_object_bytes,
  });
}
