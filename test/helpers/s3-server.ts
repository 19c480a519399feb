import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { createS3Client } from '../../src/storage/s3-client.js';

export interface TestS3Server {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL_S3. */
  endpoint: string;
  /** A client built the way the service builds its own (path-style, checksums when required). */
  client: S3Client;
  /** s3rver's fixed credentials, for clients a test builds itself. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

/** s3rver checks SigV4 signatures against this fixed key pair. */
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/**
 * s3rver signs ListObjectsV2 continuation tokens with DES, which OpenSSL 3
 * only offers through its legacy provider. Without it the first page works
 * and the second fails with a bare 500, so check up front and say why.
 */
function assertLegacyProvider(): void {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    throw new Error(
      's3rver needs the OpenSSL legacy provider (it signs list continuation tokens with DES): ' +
        'run the tests with `node --openssl-legacy-provider --import tsx --test …` (as `npm test` does) ' +
        'or set NODE_OPTIONS=--openssl-legacy-provider',
    );
  }
}

/** An in-process S3 server on a free loopback port with its own temporary folder. */
export async function startS3Server(): Promise<TestS3Server> {
  assertLegacyProvider();
  const directory = await mkdtemp(path.join(tmpdir(), 'batchline-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  let address;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = createS3Client({ endpoint, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  return {
    endpoint,
    client,
    credentials: S3RVER_CREDENTIALS,
    async createBucket(name: string): Promise<void> {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async close(): Promise<void> {
      // Drop the client's keep-alive sockets first, or the server waits for them to idle out.
      client.destroy();
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
