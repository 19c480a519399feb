import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client, type _Object } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { lendBytes, readBounded, type LentRead } from '../../lib/read-bounded.js';
import { StorageNotFoundError } from '../../storage/object-storage.js';
import { isS3NotFound } from '../../storage/s3-errors.js';
import type { ItemSource, SourceObject } from './item-source.js';

/** S3's own maximum per ListObjectsV2 page. */
const PAGE_SIZE = 1000;
/** HeadObject requests in flight when content types are looked up: fast without flooding the server. */
const HEAD_CONCURRENCY = 16;

/** Items are the objects under a prefix of a bucket. */
export class S3ItemSource implements ItemSource {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    readonly prefix = '',
  ) {}

  describe(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async *listPages(): AsyncIterable<SourceObject[]> {
    let continuationToken: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix === '' ? undefined : this.prefix,
          MaxKeys: PAGE_SIZE,
          ContinuationToken: continuationToken,
        }),
      );
      const objects: SourceObject[] = [];
      for (const object of page.Contents ?? []) {
        const item = toSourceObject(object);
        if (item !== null) objects.push(item);
      }
      // Pages go out as they arrive: a bucket of millions of keys is never listed whole into memory.
      if (objects.length > 0) yield objects;
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  async read<T>(key: string, maxBytes: number, use: (bytes: Buffer) => T): Promise<LentRead<T>> {
    return lendBytes(await readBounded(await this.stream(key), maxBytes), use);
  }

  /** The object's body as the SDK streams it. */
  private async stream(key: string): Promise<Readable> {
    // Keys come back from a ledger; one outside the prefix means a mix-up, not an item.
    if (!key.startsWith(this.prefix)) throw new Error(`key ${JSON.stringify(key)} is outside ${this.describe()}`);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const body = response.Body;
      if (!(body instanceof Readable)) throw new Error(`S3 GetObject returned no readable body for s3://${this.bucket}/${key}`);
      return body;
    } catch (error) {
      if (isS3NotFound(error)) throw new StorageNotFoundError(key);
      throw error;
    }
  }

  /**
   * Adds each object's content type, which listings do not carry, with one
   * HeadObject each. Objects deleted since the listing are dropped.
   */
  async withContentTypes(objects: readonly SourceObject[]): Promise<SourceObject[]> {
    const results: (SourceObject | null)[] = new Array<SourceObject | null>(objects.length).fill(null);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < objects.length) {
        const index = next++;
        const object = objects[index];
        if (object === undefined) continue;
        try {
          const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: object.key }));
          results[index] = head.ContentType === undefined ? object : { ...object, contentType: head.ContentType };
        } catch (error) {
          if (!isS3NotFound(error)) throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(HEAD_CONCURRENCY, objects.length) }, worker));
    return results.filter((object): object is SourceObject => object !== null);
  }
}

function toSourceObject(object: _Object): SourceObject | null {
  const key = object.Key;
  // "Folder" placeholders that consoles create (zero-byte keys ending in "/") are not items.
  if (key === undefined || key.endsWith('/')) return null;
  const size = object.Size ?? 0;
  const lastModified = (object.LastModified ?? new Date(0)).toISOString();
  // The ETag changes whenever the bytes do (an MD5 for simple uploads, a hash of
  // part hashes for multipart ones) and is stable otherwise: the content's version.
  const etag = object.ETag?.replaceAll('"', '');
  return { key, version: etag === undefined || etag === '' ? `${size}-${lastModified}` : etag, size, lastModified };
}
