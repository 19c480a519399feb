import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Bearer tokens from API_TOKENS, compared in constant time (hashing first
 * makes the lengths equal, so the length of a token leaks nothing either).
 * With no tokens configured only loopback callers are let in.
 */
export function createApiAuth(tokens: readonly string[]) {
  const digests = tokens.map((token) => createHash('sha256').update(token).digest());
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (digests.length === 0) {
      if (isLoopback(request.socket.remoteAddress)) return;
      await reply.code(401).send({ error: { code: 'unauthorized', message: 'no API_TOKENS are configured, so only loopback callers are allowed' } });
      return;
    }
    const presented = bearerToken(request.headers.authorization);
    if (presented !== null) {
      const digest = createHash('sha256').update(presented).digest();
      // Compare against every token so the time taken does not say which one nearly matched.
      let matched = false;
      for (const expected of digests) matched = timingSafeEqual(digest, expected) || matched;
      if (matched) return;
    }
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer')
      .send({ error: { code: 'unauthorized', message: presented === null ? 'missing bearer token' : 'invalid bearer token' } });
  };
}

function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}
