import type { LentRead } from '../../lib/read-bounded.js';

/** One candidate item as a source lists it. */
export interface SourceObject {
  /** The object's key: the full S3 key, or the path relative to the local folder with "/" separators. */
  key: string;
  /**
   * Identifies the content: the S3 ETag (quotes stripped), or `size-mtimeMs`
   * for a local file. The collector treats (key, version) as already seen, so
   * a version changes when the content changes and is stable otherwise.
   */
  version: string;
  size: number;
  /** ISO 8601. S3 reports whole seconds. */
  lastModified: string;
  /** Known only where the source reports one (S3 when content types are filtered on). */
  contentType?: string;
}

/** Where a pipeline's items come from. */
export interface ItemSource {
  /** For logs and messages: "s3://bucket/prefix", "local folder /data/in". */
  describe(): string;
  /** The items, a page at a time, in key order; pages arrive as the listing proceeds. */
  listPages(): AsyncIterable<SourceObject[]>;
  /**
   * Reads one item's bytes, whole, and hands them to `use`; too_large as soon
   * as more than maxBytes have been read (an oversized object costs at most
   * that much memory); StorageNotFoundError when it has gone since the listing.
   * The bytes are lent for the call only: a source may read the next item
   * into the same memory (the local folder does, so a build of thousands of
   * images leaves no buffer per image behind), so `use` returns what it makes
   * of them (a data URL, a decoded text), never the bytes themselves.
   */
  read<T>(key: string, maxBytes: number, use: (bytes: Buffer) => T): Promise<LentRead<T>>;
}
