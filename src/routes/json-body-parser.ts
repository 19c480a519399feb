import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { badRequest, type ApiError } from '../lib/api-error.js';
import { forbiddenKey } from '../lib/forbidden-json-keys.js';
import { assertJsonDepth } from '../lib/json-depth.js';
import { firstInvalidUtf8Offset } from '../lib/invalid-utf8.js';

/**
 * Replaces Fastify's application/json parser with the same parser behind a
 * nesting check, so no route of this scope (or below) ever holds a value
 * deep enough to overflow the stack of a recursive walk: a deep body is a
 * 400 `too_deep` before it is parsed, and bytes that are not UTF-8 are a
 * 400 `invalid_json` naming the first bad byte. Scopes with their own JSON parser
 * (webhooks keep the raw bytes) are outside it.
 */
export function useDepthLimitedJsonParser(app: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parseJson = app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  // As bytes, so text that is not UTF-8 is refused instead of reaching a route with U+FFFD in place of what was meant.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (!isUtf8(bytes)) {
      done(badRequest('invalid_json', `the body is not valid UTF-8 (at byte ${firstInvalidUtf8Offset(bytes)}): send JSON text encoded as UTF-8`), undefined);
      return;
    }
    const text = bytes.toString('utf8');
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
