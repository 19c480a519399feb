import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NoSuchBucket, S3ServiceException } from '@aws-sdk/client-s3';
import { UnrecoverableError } from 'bullmq';
import { describeCollectionFailure } from '../../../src/pipelines/collection/collection-failure.js';
import { redact } from '../../../src/lib/redact.js';
import { SourceUnavailableError } from '../../../src/pipelines/sources/source-unavailable-error.js';

const bucket = { type: 's3', bucket: 'uploads', prefix: 'images/' } as const;

describe('a failed collection as the pipeline shows it', () => {
  test('a source error keeps its code and words', () => {
    const error = new SourceUnavailableError('source_not_found', 'local folder /does/not/exist does not exist');
    assert.deepEqual(describeCollectionFailure(error, { type: 'local', path: '/does/not/exist' }), { code: 'source_not_found', message: 'local folder /does/not/exist does not exist' });
  });

  test('S3 errors name the bucket and what S3 answered', () => {
    const missing = new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } });
    assert.deepEqual(describeCollectionFailure(missing, bucket), { code: 'source_not_found', message: 's3://uploads/images/: NoSuchBucket (HTTP 404): The specified bucket does not exist' });
    const denied = new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: 'Access Denied', $metadata: { httpStatusCode: 403 } });
    assert.deepEqual(describeCollectionFailure(denied, bucket), { code: 'source_access_denied', message: 's3://uploads/images/: AccessDenied (HTTP 403): Access Denied' });
    const busy = new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate', $metadata: { httpStatusCode: 503 } });
    assert.equal(describeCollectionFailure(busy, bucket).code, 'source_error');
  });

  test('anything else is collection_failed, redacted and bounded', () => {
    const error = new Error(`connect ECONNREFUSED redis://default:hunter2@10.0.0.1:6379 ${'x'.repeat(1000)}`);
    const { code, message } = describeCollectionFailure(error, bucket);
    assert.equal(code, 'collection_failed');
    assert.ok(!message.includes('hunter2'), message);
    assert.equal(message.length, 500);
    assert.equal(describeCollectionFailure(new UnrecoverableError('pipeline p has no source to collect from'), undefined).code, 'collection_refused');
  });

  test('redact drops URL credentials and signed query values', () => {
    assert.equal(redact('GET https://user:pw@s3.example.com/b?X-Amz-Signature=abc123&x=1'), 'GET https://…@s3.example.com/b?X-Amz-Signature=…&x=1');
    assert.equal(redact('local folder /data/in does not exist'), 'local folder /data/in does not exist');
  });
});
