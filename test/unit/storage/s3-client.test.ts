import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createS3Client } from '../../../src/storage/s3-client.js';

/** The host a client's next request would go to (the request is stopped before it is sent). */
async function requestHost(client: S3Client): Promise<string> {
  let host = '';
  client.middlewareStack.add(
    () => async (args) => {
      const request = args.request;
      if (typeof request === 'object' && request !== null && 'hostname' in request && 'port' in request) {
        host = `${String(request.hostname)}${request.port === undefined ? '' : `:${String(request.port)}`}`;
      }
      throw new Error('stopped before sending');
    },
    { step: 'finalizeRequest' },
  );
  await assert.rejects(client.send(new ListBucketsCommand({})), /stopped before sending/);
  return host;
}

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('createS3Client', () => {
  test('an endpoint means path-style addressing on exactly that endpoint', async () => {
    const client = createS3Client({ endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1' });
    try {
      assert.equal(client.config.forcePathStyle, true);
      assert.equal(await client.config.region(), 'eu-west-1');
      const endpoint = await client.config.endpoint?.();
      assert.equal(endpoint?.hostname, '127.0.0.1');
      assert.equal(endpoint?.port, 9000);
    } finally {
      client.destroy();
    }
  });

  test('checksums only when an operation requires them (no aws-chunked bodies)', async () => {
    const client = createS3Client({ endpoint: 'http://127.0.0.1:9000' });
    try {
      assert.equal(await client.config.requestChecksumCalculation(), 'WHEN_REQUIRED');
      assert.equal(await client.config.responseChecksumValidation(), 'WHEN_REQUIRED');
    } finally {
      client.destroy();
    }
  });

  test('without a region, us-east-1; without an endpoint, AWS virtual-host addressing', async () => {
    const client = createS3Client();
    try {
      assert.equal(await client.config.region(), 'us-east-1');
      assert.notEqual(client.config.forcePathStyle, true);
      assert.equal(client.config.endpoint, undefined);
    } finally {
      client.destroy();
    }
  });

  test('AWS_ENDPOINT_URL_S3 in the environment is not picked up behind the configuration’s back', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_S3;
    process.env.AWS_ENDPOINT_URL_S3 = 'http://127.0.0.1:1';
    const implicit = createS3Client({ credentials });
    const explicit = createS3Client({ endpoint: 'http://127.0.0.1:2', credentials });
    try {
      assert.equal(await requestHost(implicit), 's3.us-east-1.amazonaws.com');
      assert.equal(await requestHost(explicit), '127.0.0.1:2');
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_S3;
      else process.env.AWS_ENDPOINT_URL_S3 = saved;
      implicit.destroy();
      explicit.destroy();
    }
  });
});
