/**
 * An error the HTTP API answers with `{ error: { code, message } }`.
 * Thrown anywhere a request is refused for a reason the caller can fix.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (code: string, message: string): ApiError => new ApiError(400, code, message);
export const notFound = (what: string, id: string): ApiError => new ApiError(404, 'not_found', `${what} ${id} does not exist`);
