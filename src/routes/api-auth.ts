import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiErrorBody } from '../lib/api-error-codes.js';

export interface ApiAuthOptions {
  /**
   * Also accept HTTP basic auth whose password is a token (any user name):
   * a browser cannot attach a bearer token to a page and its scripts, but it
   * does remember basic credentials (Bull Board).
   */
  basic?: boolean;
}

/**
 * Bearer tokens from API_TOKENS, compared in constant time (hashing first
 * makes the lengths equal, so the length of a token leaks nothing either).
 * With no tokens configured only loopback callers are let in.
 */
export function createApiAuth(tokens: readonly string[], options: ApiAuthOptions = {}) {
  const digests = tokens.map((token) => createHash('sha256').update(token).digest());
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (digests.length === 0) {
      if (isLoopback(request.socket.remoteAddress)) return;
      await reply.code(401).send(apiErrorBody('unauthorized', 'no API_TOKENS are configured, so only loopback callers are allowed'));
      return;
    }
    const presented = bearerToken(request.headers.authorization) ?? (options.basic === true ? basicPassword(request.headers.authorization) : null);
    if (presented !== null) {
      const digest = createHash('sha256').update(presented).digest();
      // Compare against every token so the time taken does not say which one nearly matched.
      let matched = false;
      for (const expected of digests) matched = timingSafeEqual(digest, expected) || matched;
      if (matched) return;
    }
    await reply
      .code(401)
      .header('www-authenticate', options.basic === true ? 'Basic realm="batchline", charset="UTF-8"' : 'Bearer')
      .send(apiErrorBody('unauthorized', unauthorizedMessage(request.headers.authorization, presented !== null, options.basic === true)));
  };
}

function unauthorizedMessage(header: string | undefined, presented: boolean, basic: boolean): string {
  if (presented) return basic ? 'invalid token' : 'invalid bearer token';
  const expected = basic ? '`Bearer <token>`, or basic auth with a token as the password' : '`Bearer <token>` (one token)';
  // A header that is there but unreadable is a different mistake from none: say which, so the fix is plain.
  if (header === undefined || header.trim() === '') return basic ? `missing credentials: send ${expected}` : 'missing bearer token: send Authorization: Bearer <token>';
  const scheme = /^\S+/.exec(header.trim())?.[0] ?? '';
  if (!basic && /^basic$/i.test(scheme)) return 'basic auth is not accepted on the API: send Authorization: Bearer <token>';
  return `malformed Authorization header: send ${expected}`;
}

function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function basicPassword(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? null : decoded.slice(colon + 1);
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
