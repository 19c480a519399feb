import { ApiError } from '../lib/api-error.js';
import { NDJSON } from './content-types.js';

/**
 * The 415 for a body of a type the route does not take, saying what to send
 * instead: JSON everywhere, NDJSON too where a route streams lines in. `curl
 * -d` sends a form unless told otherwise, the most common way to get here.
 */
export function unsupportedMediaType(contentType: string | undefined, alsoNdjson: boolean): ApiError {
  const hint = contentType?.startsWith('application/x-www-form-urlencoded') === true ? " (curl -d sends a form: add -H 'content-type: application/json')" : '';
  const accepted = alsoNdjson ? `application/json or ${NDJSON}` : 'application/json';
  return new ApiError('unsupported_media_type', `unsupported Content-Type ${contentType === undefined || contentType === '' ? '(none)' : contentType}: send ${accepted}${hint}`);
}
