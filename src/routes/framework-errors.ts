import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { API_ERROR_CODES, apiErrorBody, type ApiErrorCode } from '../lib/api-error-codes.js';
import { PIPELINE_ID_MESSAGE } from '../pipelines/pipeline-definition.js';

/** Fastify's own limit on one path parameter (its `maxParamLength` default); longer ids never reach a route. */
export const MAX_PARAM_LENGTH = 100;

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route,
 * hook or error handler runs (a path parameter over MAX_PARAM_LENGTH, a URL
 * whose percent-encoding does not decode). Answered in the one error shape
 * with the code the route itself gives a bad id, and without quoting the
 * URL, which may be kilobytes.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const path = request.raw.url?.split('?')[0] ?? '';
  const { code, message } = refusalOf(error, path);
  void reply.code(API_ERROR_CODES[code].status).send(apiErrorBody(code, message));
}

function refusalOf(error: FastifyError, path: string): { code: ApiErrorCode; message: string } {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    if (path.startsWith('/v1/pipelines/')) return { code: 'invalid_pipeline_id', message: `the pipeline id in the path is over ${MAX_PARAM_LENGTH} characters; a pipeline id ${PIPELINE_ID_MESSAGE}` };
    if (path.startsWith('/v1/runs/')) return { code: 'invalid_request', message: `params.id: not a run id (over ${MAX_PARAM_LENGTH} characters)` };
    return { code: 'invalid_request', message: `a path segment is over ${MAX_PARAM_LENGTH} characters` };
  }
  if (error.code === 'FST_ERR_BAD_URL') return { code: 'invalid_request', message: 'the URL path is not valid: a "%" must start a percent-encoded UTF-8 byte such as %20' };
  return { code: 'invalid_request', message: 'the request could not be routed' };
}
