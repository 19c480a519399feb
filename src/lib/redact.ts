/**
 * Drops what could be a secret from a message shown to users: the user and
 * password of a URL (`redis://:pw@host`, an endpoint with credentials) and
 * request signatures or tokens in a query string.
 */
export function redact(message: string): string {
  return message
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1…@')
    .replace(/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|token|key)=)[^&\s]+/gi, '$1…');
}
