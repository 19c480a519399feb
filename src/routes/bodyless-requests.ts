import type { FastifyRequest } from 'fastify';
import { badRequest } from '../lib/api-error.js';
import { hasBody } from './has-body.js';

/** A route declares its body by a body schema; one without takes none (DELETE, cancel, trigger…). */
const takesNoBody = (request: FastifyRequest): boolean => request.routeOptions.schema?.body === undefined;

/**
 * onRequest hook: a route that declares no body (DELETE, cancel, trigger…)
 * takes an empty request whatever Content-Type a client adds out of habit.
 * Fastify parses by Content-Type even when nothing follows, so an empty
 * `application/json` body was refused as empty JSON and an unknown type as
 * unsupported. Without the header, Fastify sees what is there: no body.
 * Routes with a body schema keep refusing an empty body.
 */
export async function ignoreContentTypeOfEmptyBody(request: FastifyRequest): Promise<void> {
  if (request.headers['content-type'] !== undefined && takesNoBody(request) && !hasBody(request)) delete request.headers['content-type'];
}

const refusal = (request: FastifyRequest) =>
  badRequest('invalid_request', `${request.method} ${request.routeOptions.url ?? ''} takes no body: send the request without one`);

/**
 * onRequest hook: a body sent to a route that takes none is refused rather
 * than ignored, since a client sending one believes it says something
 * (`{"force": true}` to a trigger). The headers settle it (a length or a
 * chunked transfer) before any byte is read, whatever the Content-Type.
 */
export async function refuseBodyOfBodylessRoute(request: FastifyRequest): Promise<void> {
  if (hasBody(request) && takesNoBody(request)) throw refusal(request);
}
