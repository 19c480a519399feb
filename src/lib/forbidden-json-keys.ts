import { badRequest, type ApiError } from './api-error.js';

/**
 * The keys this API refuses in JSON, as Fastify's secure JSON parser does
 * for a JSON body: `__proto__`, and a `constructor` object holding
 * `prototype`. JSON.parse keeps them as plain own keys, but a later merge or
 * spread of the value (a template filling a body, a metadata copy) could
 * turn them into a changed prototype.
 */

/** Thrown by parseJsonRefusingForbiddenKeys for valid JSON that holds a forbidden key; the caller names the text. */
export class ForbiddenKeyError extends Error {
  constructor() {
    super('a forbidden key');
    this.name = 'ForbiddenKeyError';
  }
}

/** The 400 for text holding a forbidden key; `what` names the text ("line 3"). */
export function forbiddenKey(what: string): ApiError {
  return badRequest('forbidden_key', `${what} has a "__proto__" key or a "constructor" holding a "prototype", which this API refuses (they could alter the objects built from it)`);
}

/** A letter of "__proto__", "constructor" or "prototype" written as a \u escape (they are all \u005f-\u0075). */
const ESCAPED_KEY_LETTER = /\\u00[5-7][0-9a-fA-F]/;

/**
 * Whether the text may hold a forbidden key, by indexOf alone on the common
 * path: "proto" is in both "__proto__" and "prototype", and a key could only
 * hide from that by escaping a letter (`"\u005f_proto__"`), which needs
 * "\u00". A line with neither costs two indexOf calls and allocates nothing;
 * the rest get the exact checks (and, if still in doubt, the reviver).
 */
export function mayHoldForbiddenKey(text: string): boolean {
  const proto = text.indexOf('proto') !== -1 && (text.indexOf('"__proto__"') !== -1 || (text.indexOf('"constructor"') !== -1 && text.indexOf('"prototype"') !== -1));
  return proto || (text.indexOf('\\u00') !== -1 && ESCAPED_KEY_LETTER.test(text));
}

/** JSON.parse reviver: runs bottom-up with each key decoded, so escaped spellings are caught too. */
function refuseForbiddenKey(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new ForbiddenKeyError();
  if (key === 'constructor' && typeof value === 'object' && value !== null && Object.hasOwn(value, 'prototype')) throw new ForbiddenKeyError();
  return value;
}

/**
 * JSON.parse that refuses the forbidden keys: throws SyntaxError for text
 * that is not JSON (as JSON.parse does) and ForbiddenKeyError for JSON that
 * holds one. The reviver, which slows a parse, runs only on text that
 * mayHoldForbiddenKey picked out.
 */
export function parseJsonRefusingForbiddenKeys(text: string): unknown {
  return mayHoldForbiddenKey(text) ? JSON.parse(text, refuseForbiddenKey) : JSON.parse(text);
}
