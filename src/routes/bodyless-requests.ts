import type { FastifyRequest } from 'fastify';

/**
 * onRequest hook: a route that declares no body (DELETE, cancel, trigger…)
 * takes an empty request whatever Content-Type a client adds out of habit.
 * Fastify parses by Content-Type even when nothing follows, so an empty
 * `application/json` body was refused as empty JSON and an unknown type as
 * unsupported. Without the header, Fastify sees what is there: no body.
 * Routes with a body schema keep refusing an empty body.
 */
export async function ignoreContentTypeOfEmptyBody(request: FastifyRequest): Promise<void> {
  if (request.headers['content-type'] === undefined || request.routeOptions.schema?.body !== undefined) return;
  // The same test Fastify makes for "no body" when there is no Content-Type.
  const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
  if (encoding === undefined && (length === undefined || length === '0')) delete request.headers['content-type'];
}
