import type { FastifyInstance } from 'fastify';
import { badRequest, type ApiError } from '../lib/api-error.js';
import { forbiddenKey } from '../lib/forbidden-json-keys.js';
import { assertJsonDepth } from '../lib/json-depth.js';

/**
 * Replaces Fastify's application/json parser with the same parser behind a
 * nesting check, so no route of this scope (or below) ever holds a value
 * deep enough to overflow the stack of a recursive walk: a deep body is a
 * 400 `too_deep` before it is parsed. Scopes with their own JSON parser
 * (webhooks keep the raw bytes) are outside it.
 */
export function useDepthLimitedJsonParser(app: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parseJson = app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    try {
      assertJsonDepth(text, 'the body');
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    parseJson(request, text, (error, value) => {
      if (error === null) done(null, value);
      else done((error as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY' ? (explainJsonFailure(text) ?? error) : error, undefined);
    });
  });
}

/**
 * Why Fastify's parser refused the text, which its own error does not say:
 * the position of a syntax error, or a `__proto__` / `constructor.prototype`
 * key that its prototype-poisoning guard refuses in text that is valid JSON.
 * Runs only on the failure path.
 */
function explainJsonFailure(text: string): ApiError | null {
  try {
    JSON.parse(text);
  } catch (error) {
    return error instanceof SyntaxError ? badRequest('invalid_json', `the body is not valid JSON: ${error.message}`) : null;
  }
  return forbiddenKey('the body');
}
