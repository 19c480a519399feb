import type { FastifyRequest } from 'fastify';

/**
 * Whether a body follows the headers: a chunked transfer or a non-zero
 * Content-Length, the same test Fastify makes before parsing one. An HTTP/1.1
 * body can arrive no other way, so a request without either has none.
 */
export function hasBody(request: FastifyRequest): boolean {
  const { 'content-length': length, 'transfer-encoding': transfer } = request.headers;
  return transfer !== undefined || (length !== undefined && length !== '0');
}
