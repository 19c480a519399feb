import { API_ERROR_CODES, type ApiErrorCode } from './api-error-codes.js';

/**
 * An error the HTTP API answers with `{ error: { code, message } }`, its
 * status the one its code has (API_ERROR_CODES).
 * Thrown anywhere a request is refused for a reason the caller can fix.
 */
export class ApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
    this.statusCode = API_ERROR_CODES[code].status;
  }
}

/** The codes answered with 400. */
type BadRequestCode = { [C in ApiErrorCode]: (typeof API_ERROR_CODES)[C]['status'] extends 400 ? C : never }[ApiErrorCode];

export const badRequest = (code: BadRequestCode, message: string): ApiError => new ApiError(code, message);
export const notFound = (what: string, id: string): ApiError => new ApiError('not_found', `${what} ${id} does not exist`);
