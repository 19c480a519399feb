import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { StorageNotFoundError, type ObjectStorage, type StoredObjectInfo } from './object-storage.js';
import { isS3NotFound } from './s3-errors.js';

/** 8 MiB parts: above S3's 5 MiB minimum, and 10,000 parts still allow objects of ~78 GiB. */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight per upload; memory held by one put is at most PART_SIZE × this. */
const QUEUE_SIZE = 4;

/** Object storage in an S3 bucket (or an S3-compatible server), under a key prefix. */
export class S3Storage implements ObjectStorage {
  readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    prefix = '',
  ) {
    // Keys are joined as prefix + key, so a prefix is a folder: "runs" and "runs/" mean the same.
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  urlOf(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  async put(key: string, body: Readable | Buffer | string): Promise<void> {
    // When the source breaks, the uploader aborts the multipart upload; if that
    // abort fails too, its error would replace the source's. Keep the cause.
    let sourceError: unknown;
    const onSourceError = (error: unknown): void => {
      sourceError ??= error;
    };
    if (body instanceof Readable) body.once('error', onSourceError);
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.objectKey(key), Body: body },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        // Abort the multipart upload on any failure, so no parts are billed and no object appears.
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (error) {
      // The uploader stops reading on failure (or never started); release the source (an open file, a socket).
      if (body instanceof Readable && !body.destroyed) body.destroy();
      if (sourceError !== undefined && sourceError !== error) {
        if (sourceError instanceof Error && sourceError.cause === undefined) sourceError.cause = error;
        throw sourceError;
      }
      throw error;
    } finally {
      if (body instanceof Readable) body.off('error', onSourceError);
    }
  }

  async putFile(key: string, filePath: string): Promise<void> {
    await this.put(key, createReadStream(filePath));
    await rm(filePath, { force: true });
  }

  async get(key: string): Promise<Readable> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      const stream = response.Body;
      if (!(stream instanceof Readable)) throw new Error(`S3 GetObject returned no readable body for ${this.urlOf(key)}`);
      return stream;
    } catch (error) {
      if (isS3NotFound(error)) throw new StorageNotFoundError(key);
      throw error;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isS3NotFound(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 answers 204 for an absent key too, which matches the local storage's force-delete.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async *list(prefix: string): AsyncIterable<StoredObjectInfo> {
    const listPrefix = this.prefix + prefix;
    let continuationToken: string | undefined;
    do {
      // One page at a time: a listing of millions of keys never sits in memory.
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: listPrefix, ContinuationToken: continuationToken }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 };
      }
      continuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
  }

  /**
   * The bucket key of a storage key. Keys are relative and normalised, as the
   * local storage requires: "a/../b" or "/a" would name different objects on
   * S3 than on disk, so they are refused here too.
   */
  private objectKey(key: string): string {
    const segments = key.split('/');
    if (key === '' || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
      throw new Error(`storage key must be a relative slash-separated path without empty, "." or ".." segments: ${JSON.stringify(key)}`);
    }
    return this.prefix + key;
  }
}
