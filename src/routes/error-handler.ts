import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError } from '../lib/api-error.js';
import { API_ERROR_CODES, apiErrorBody, type ApiErrorCode } from '../lib/api-error-codes.js';
import { unsupportedMediaType } from './unsupported-media-type.js';
import { formatIssue } from '../lib/format-zod-error.js';
import { StorageNotFoundError } from '../storage/object-storage.js';

/** Answers with the code's own status (API_ERROR_CODES). */
const send = (reply: FastifyReply, code: ApiErrorCode, message: string) => reply.code(API_ERROR_CODES[code].status).send(apiErrorBody(code, message));

/** Every failure becomes `{ error: { code, message } }`; only unexpected ones are logged as errors. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ApiError) return send(reply, error.code, error.message);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const message = error.validation
      .map((issue) =>
        formatIssue(
          { code: issue.keyword, path: issue.instancePath.split('/').filter(Boolean), message: issue.message ?? issue.keyword, keys: stringList(issue.params['keys']) },
          error.validationContext ?? '',
        ),
      )
      .join('; ');
    return send(reply, 'invalid_request', message);
  }
  if (error.validation !== undefined) return send(reply, 'invalid_request', error.message);
  if (isRedisUnavailable(error)) return send(reply, 'unavailable', REDIS_UNAVAILABLE);
  if (error instanceof StorageNotFoundError) return send(reply, 'not_found', 'the stored object no longer exists');
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return send(reply, 'body_too_large', `the body is over this route's limit of ${sizeInWords(request.routeOptions.bodyLimit)}${takesNdjson(request) ? '; send large runs as NDJSON' : ''}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const refused = unsupportedMediaType(request.headers['content-type'], takesNdjson(request));
      return send(reply, refused.code, refused.message);
    }
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return send(reply, 'invalid_json', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return send(reply, 'invalid_json', `the body is not valid JSON: ${error.message}`);
    default:
      break;
  }
  if (error.statusCode === 429) return send(reply, 'rate_limited', error.message);
  // Fastify's and its plugins' other refusals of a malformed request (a body shorter than its Content-Length):
  // the status comes from the code, as everywhere, so a 413 is body_too_large, a 404 not_found, and any other 4xx a 400.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) return send(reply, clientErrorCode(error.statusCode), error.message);
  request.log.error({ err: error }, 'request failed');
  return send(reply, 'internal_error', 'an internal error occurred; it has been logged');
}

function clientErrorCode(status: number): ApiErrorCode {
  if (status === 413) return 'body_too_large';
  if (status === 404) return 'not_found';
  return 'invalid_request';
}

/** A byte limit as a reader takes it in: `64 MiB (67108864 bytes)`. */
const sizeInWords = (bytes: number): string => (bytes % MIB === 0 ? `${bytes / MIB} MiB (${bytes} bytes)` : `${bytes} bytes`);
const MIB = 1024 * 1024;

/** Only POST /v1/runs also streams NDJSON in: the advice to use it belongs there alone. */
const takesNdjson = (request: FastifyRequest): boolean => request.method === 'POST' && request.routeOptions.url === '/v1/runs';

export const REDIS_UNAVAILABLE = 'the queue store (Redis) is unavailable; try again shortly';

/** ioredis' ways of saying the connection is gone (the API's client never queues commands offline). */
export function isRedisUnavailable(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|ECONNREFUSED|enableOfflineQueue/.test(error.message)
  );
}

/** The field names a zod `unrecognized_keys` issue carries in Fastify's copy of it (params are untyped there). */
function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((entry): entry is string => typeof entry === 'string') ? value : undefined;
}
