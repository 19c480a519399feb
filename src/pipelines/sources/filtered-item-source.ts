import type { LentRead } from '../../lib/read-bounded.js';
import type { ItemSource, SourceObject } from './item-source.js';

export interface SourceFilter {
  /** Key endings, compared case-insensitively. */
  suffixes?: readonly string[];
  /** MIME types or "type/*", compared case-insensitively and without parameters. */
  contentTypes?: readonly string[];
  maxObjectBytes?: number;
}

/** Looks up content types the listing lacks (S3: HeadObject); absent, only known types are checked. */
export type ContentTypeResolver = (objects: readonly SourceObject[]) => Promise<SourceObject[]>;

/**
 * A source narrowed by a pipeline's filters. Objects that do not match are
 * skipped silently: they are simply not items of this pipeline.
 */
export class FilteredItemSource implements ItemSource {
  private readonly suffixes: string[] | undefined;
  private readonly contentTypes: string[] | undefined;

  constructor(
    private readonly inner: ItemSource,
    private readonly filter: SourceFilter,
    private readonly resolveContentTypes?: ContentTypeResolver,
  ) {
    this.suffixes = filter.suffixes?.map((suffix) => suffix.toLowerCase());
    this.contentTypes = filter.contentTypes?.map((type) => type.toLowerCase());
  }

  describe(): string {
    const parts: string[] = [];
    if (this.suffixes !== undefined) parts.push(`suffixes ${this.suffixes.join(' ')}`);
    if (this.contentTypes !== undefined) parts.push(`content types ${this.contentTypes.join(' ')}`);
    if (this.filter.maxObjectBytes !== undefined) parts.push(`at most ${this.filter.maxObjectBytes} bytes`);
    return parts.length === 0 ? this.inner.describe() : `${this.inner.describe()} (${parts.join(', ')})`;
  }

  async *listPages(): AsyncIterable<SourceObject[]> {
    for await (const page of this.inner.listPages()) {
      // The cheap checks first, so content types are looked up only for the objects still in the running.
      let objects = page.filter((object) => this.matchesKeyAndSize(object));
      if (this.contentTypes !== undefined && this.resolveContentTypes !== undefined && objects.length > 0) {
        objects = await this.resolveContentTypes(objects);
      }
      objects = objects.filter((object) => this.matchesContentType(object.contentType));
      if (objects.length > 0) yield objects;
    }
  }

  read<T>(key: string, maxBytes: number, use: (bytes: Buffer) => T): Promise<LentRead<T>> {
    return this.inner.read(key, maxBytes, use);
  }

  private matchesKeyAndSize(object: SourceObject): boolean {
    if (this.filter.maxObjectBytes !== undefined && object.size > this.filter.maxObjectBytes) return false;
    if (this.suffixes === undefined) return true;
    const key = object.key.toLowerCase();
    return this.suffixes.some((suffix) => key.endsWith(suffix));
  }

  /** An unknown content type passes: the filter only judges what the source reports. */
  private matchesContentType(contentType: string | undefined): boolean {
    if (this.contentTypes === undefined || contentType === undefined) return true;
    const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    return this.contentTypes.some((pattern) =>
      pattern.endsWith('/*') ? type.startsWith(pattern.slice(0, -1)) : type === pattern,
    );
  }
}
