import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { API_ERROR_CODES } from '../../../src/lib/api-error-codes.js';
import { errorHandler } from '../../../src/routes/error-handler.js';

/** A client error as Fastify or a plugin throws it, with no case of its own in the handler. */
const clientError = (statusCode: number): Error => Object.assign(new Error(`refused with ${statusCode}`), { statusCode, code: 'FST_ERR_SOMETHING' });

describe('error handler fallback for client errors', () => {
  it('answers with a code whose listed status is the status sent', async () => {
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    app.get('/fail/:status', async (request) => {
      throw clientError(Number((request.params as { status: string }).status));
    });
    const expected: Array<[number, string, number]> = [
      [400, 'invalid_request', 400],
      [408, 'invalid_request', 400],
      [413, 'body_too_large', 413],
      [414, 'invalid_request', 400],
      [431, 'invalid_request', 400],
      [404, 'not_found', 404],
    ];
    for (const [thrown, code, status] of expected) {
      const response = await app.inject({ method: 'GET', url: `/fail/${thrown}` });
      const body = response.json<{ error: { code: keyof typeof API_ERROR_CODES; message: string } }>();
      assert.deepEqual([response.statusCode, body.error.code, body.error.message], [status, code, `refused with ${thrown}`], `thrown ${thrown}`);
      assert.equal(API_ERROR_CODES[body.error.code].status, response.statusCode);
    }
    await app.close();
  });
});
