import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { API_ERROR_CODES, apiErrorCodesOf } from '../../../src/lib/api-error-codes.js';
import { ApiError, badRequest } from '../../../src/lib/api-error.js';

describe('API error codes', () => {
  it('the README lists every code with its status and meaning, as the code does', async () => {
    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map(([, code, status, meaning]) => [code, Number(status), meaning]);
    assert.deepEqual(
      rows,
      Object.entries(API_ERROR_CODES).map(([code, { status, meaning }]) => [code, status, meaning]),
      'README.md\'s error code table differs from src/lib/api-error-codes.ts',
    );
  });

  it('an ApiError answers with its code\'s status', () => {
    assert.equal(new ApiError('results_not_ready', 'x').statusCode, 409);
    assert.equal(new ApiError('webhooks_disabled', 'x').statusCode, 404);
    assert.equal(badRequest('too_deep', 'x').statusCode, 400);
  });

  it('lists the codes of a status in the table\'s order', () => {
    assert.deepEqual(apiErrorCodesOf(413), ['body_too_large', 'request_line_too_large']);
    assert.deepEqual(apiErrorCodesOf(418), []);
  });
});
