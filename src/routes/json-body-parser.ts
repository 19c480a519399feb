import type { FastifyInstance } from 'fastify';
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
    parseJson(request, text, done);
  });
}
