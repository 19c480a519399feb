import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface ObjectToPut {
  key: string;
  body: string | Buffer;
  contentType?: string;
}

/** Fills a bucket quickly: bounded parallel PutObject calls (one at a time would take seconds per thousand). */
export async function putMany(client: S3Client, bucket: string, objects: readonly ObjectToPut[], concurrency = 32): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objects.length) {
      const object = objects[next++];
      if (object === undefined) continue;
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: object.key,
          Body: object.body,
          // Stated, because the SDK cannot measure an empty body and warns about it.
          ContentLength: Buffer.byteLength(object.body),
          ContentType: object.contentType,
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
}
