import type { FastifyRequest } from 'fastify';
import { badRequest } from '../lib/api-error.js';

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
  if (request.headers['content-type'] === undefined || !takesNoBody(request)) return;
  // The same test Fastify makes for "no body" when there is no Content-Type.
  const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
  if (encoding === undefined && (length === undefined || length === '0')) delete request.headers['content-type'];
}

const refusal = (request: FastifyRequest) =>
  badRequest('invalid_request', `${request.method} ${request.routeOptions.url ?? ''} takes no body: send the request without one`);

/**
 * onRequest hook: a body sent to a route that takes none is refused rather
 * than ignored, since a client sending one believes it says something
 * (`{"force": true}` to a trigger). A declared length settles it before any
 * byte is read, whatever the Content-Type.
 */
export async function refuseBodyOfBodylessRoute(request: FastifyRequest): Promise<void> {
  const length = request.headers['content-length'];
  if (length !== undefined && length !== '0' && takesNoBody(request)) throw refusal(request);
}

/**
 * preValidation hook, for the bodies no length announced (chunked): the
 * parsed body of a route that takes none must be nothing or empty text.
 */
export async function refuseParsedBodyOfBodylessRoute(request: FastifyRequest): Promise<void> {
  if (request.body !== undefined && request.body !== null && request.body !== '' && takesNoBody(request)) throw refusal(request);
}
