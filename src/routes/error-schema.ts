import { z } from 'zod';

/** Every error the API answers: `{ error: { code, message } }`. */
export const errorResponseSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('Error');

export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 415 | 429 | 503;

/** What every route of /v1/* can answer whatever it does: a bad request, no token, the rate limit, Redis away. */
const EVERY_V1_ROUTE = [400, 401, 429, 503] as const satisfies readonly ErrorStatus[];

/**
 * The OpenAPI error responses of a /v1 route: the ones every route has and
 * `also` (its own, such as 404 for an unknown id), so the document lists
 * what the route can really answer, each in the one error shape.
 */
export function errorResponses<Also extends ErrorStatus = never>(...also: Also[]): Record<(typeof EVERY_V1_ROUTE)[number] | Also, typeof errorResponseSchema> {
  return Object.fromEntries([...EVERY_V1_ROUTE, ...also].map((status) => [status, errorResponseSchema])) as Record<(typeof EVERY_V1_ROUTE)[number] | Also, typeof errorResponseSchema>;
}
