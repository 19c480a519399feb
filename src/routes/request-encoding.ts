import type { FastifyRequest } from 'fastify';
import { ApiError } from '../lib/api-error.js';
import { hasBody } from './has-body.js';

/** `charset=utf-8` (or `utf8`, any case, maybe quoted): the only text encoding the API reads. */
const CHARSET_PARAMETER = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;
const UTF8_NAMES = new Set(['utf-8', 'utf8']);

/**
 * onRequest hook: every body this service reads is UTF-8 text sent as is.
 * A compressed body would otherwise reach the JSON parser as binary and come
 * back as "not valid JSON" with the garbage quoted, and a body declared as
 * another charset would be read as UTF-8 all the same, its accents mangled.
 * Both are refused, before a byte of the body is read, with a 415 that says
 * what to send instead.
 */
export async function refuseUnreadableBodyEncodings(request: FastifyRequest): Promise<void> {
  // Headers describe a body; with none (a GET a client decorated out of habit) there is nothing to misread.
  if (!hasBody(request)) return;
  const encoding = request.headers['content-encoding']?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    throw new ApiError('unsupported_media_type', `unsupported Content-Encoding ${shortened(encoding)}: send the body uncompressed`);
  }
  const charset = CHARSET_PARAMETER.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && !UTF8_NAMES.has(charset)) {
    throw new ApiError('unsupported_media_type', `unsupported charset ${shortened(charset)}: send the body as UTF-8 (charset=utf-8, or no charset)`);
  }
}

/** A header value quoted back in a message, cut short so a huge one is not echoed whole. */
const shortened = (value: string): string => JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
