import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NoSuchBucket } from '@aws-sdk/client-s3';
import { errorCode } from '../../../src/lib/error-code.js';
import { describeOutputFailure, isPermanentOutputFailure } from '../../../src/runs/copy-results-to-output.js';

/** Node's file system errors carry a system `code`; a wrapped one keeps it on its cause. */
const systemError = (code: string): Error => Object.assign(new Error(`${code}: operation refused`), { code });

describe('a failed copy to the output as the run shows it', () => {
  test('S3 errors say what S3 answered, as a failed collection does', () => {
    const missing = new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: { httpStatusCode: 404 } });
    assert.equal(describeOutputFailure(missing), 'NoSuchBucket (HTTP 404): The specified bucket does not exist');
  });

  test('the description is redacted and bounded: it is stored in the run hash and shown in the view', () => {
    const reason = describeOutputFailure(new Error(`PUT https://user:hunter2@s3.example.com/out?X-Amz-Signature=abc ${'x'.repeat(2000)}`));
    assert.ok(!reason.includes('hunter2') && !reason.includes('abc'), reason);
    assert.equal(reason.length, 500);
    assert.ok(reason.endsWith('…'));
  });

  test('a local folder the worker may not write is permanent, also when the code is on a cause', () => {
    assert.equal(isPermanentOutputFailure(systemError('EACCES')), true);
    assert.equal(isPermanentOutputFailure(new Error('copy failed', { cause: systemError('EROFS') })), true);
    assert.equal(isPermanentOutputFailure(systemError('ECONNRESET')), false);
  });
});

describe('errorCode', () => {
  test('reads the system code of an error or of its nearest cause that has one', () => {
    assert.equal(errorCode(systemError('ENOTFOUND')), 'ENOTFOUND');
    assert.equal(errorCode(new TypeError('fetch failed', { cause: new Error('lookup', { cause: systemError('EAI_AGAIN') }) })), 'EAI_AGAIN');
    assert.equal(errorCode(new Error('no code')), undefined);
    assert.equal(errorCode(Object.assign(new Error('numeric code'), { code: 42 })), undefined);
    assert.equal(errorCode('not an error'), undefined);
  });
});
