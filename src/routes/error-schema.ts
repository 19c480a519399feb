import { z } from 'zod';
import { API_ERROR_CODES, apiErrorCodesOf } from '../lib/api-error-codes.js';

const ERROR_STATUSES = [400, 401, 404, 409, 413, 415, 429, 503] as const;
export type ErrorStatus = (typeof ERROR_STATUSES)[number];

/**
 * The one error shape, `{ error: { code, message } }`, as answered with
 * `status`: its code is one of that status's codes (API_ERROR_CODES), so the
 * OpenAPI document lists what a client can branch on.
 */
function errorResponseSchemaOf(status: ErrorStatus) {
  const [first, ...rest] = apiErrorCodesOf(status);
  if (first === undefined) throw new Error(`no API error code has status ${status}`);
  const meanings = [first, ...rest].map((code) => `${code}: ${API_ERROR_CODES[code].meaning}`).join('; ');
  return z.object({ error: z.object({ code: z.enum([first, ...rest]).describe(meanings), message: z.string().describe('what went wrong, naming the field or value') }) }).describe(`Error (${status})`);
}

/** Built once per status, when the module loads: every route shares them. */
const schemas = Object.fromEntries(ERROR_STATUSES.map((status) => [status, errorResponseSchemaOf(status)])) as Record<ErrorStatus, ReturnType<typeof errorResponseSchemaOf>>;
export const errorResponseSchemaFor = (status: ErrorStatus): ReturnType<typeof errorResponseSchemaOf> => schemas[status];

/** What every route of /v1/* can answer whatever it does: a bad request, no token, the rate limit, Redis away. */
const EVERY_V1_ROUTE = [400, 401, 429, 503] as const satisfies readonly ErrorStatus[];

/**
 * The OpenAPI error responses of a /v1 route: the ones every route has and
 * `also` (its own, such as 404 for an unknown id), so the document lists
 * what the route can really answer, each in the one error shape.
 */
export function errorResponses<Also extends ErrorStatus = never>(...also: Also[]): Record<(typeof EVERY_V1_ROUTE)[number] | Also, ReturnType<typeof errorResponseSchemaOf>> {
  return Object.fromEntries([...EVERY_V1_ROUTE, ...also].map((status) => [status, errorResponseSchemaFor(status)])) as Record<(typeof EVERY_V1_ROUTE)[number] | Also, ReturnType<typeof errorResponseSchemaOf>>;
}
