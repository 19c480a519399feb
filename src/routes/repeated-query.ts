import type { FastifyRequest } from 'fastify';
import { badRequest } from '../lib/api-error.js';

/**
 * preValidation hook: no query parameter of this API takes a list, but the
 * query parser turns `?limit=1&limit=2` into an array, which a schema then
 * reports as something obscure ("expected number, received NaN"). Say what
 * happened instead.
 */
export async function refuseRepeatedQueryParameters(request: FastifyRequest): Promise<void> {
  const query = request.query;
  if (typeof query !== 'object' || query === null) return;
  const repeated = Object.entries(query).find(([, value]) => Array.isArray(value));
  if (repeated !== undefined) throw badRequest('invalid_request', `querystring: ${repeated[0]} is given more than once`);
}
