/**
 * OpenAI's error body, `{ error: { message, type, param, code } }`, which the
 * SDK turns into its typed errors (NotFoundError, RateLimitError, ...). Every
 * refusal of the emulator goes through this class so no route can answer in
 * another shape.
 */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class OpenAIHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'OpenAIHttpError';
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null, statusCode = 400): OpenAIHttpError =>
  new OpenAIHttpError(statusCode, 'invalid_request_error', message, param, code);

export const missingParameter = (param: string): OpenAIHttpError =>
  invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');

export const invalidValue = (param: string, value: unknown, allowed?: readonly string[]): OpenAIHttpError =>
  invalidRequest(
    `Invalid value: ${JSON.stringify(value)}.${allowed === undefined ? '' : ` Supported values are: ${allowed.map((v) => `'${v}'`).join(', ')}.`}`,
    param,
    'invalid_value',
  );

export const noSuchFile = (id: string, param = 'file_id'): OpenAIHttpError =>
  invalidRequest(`No such File object: ${id}`, param, null, 404);

export const noSuchBatch = (id: string): OpenAIHttpError => invalidRequest(`No batch found with id '${id}'.`, 'batch_id', null, 404);

export const serverError = (): OpenAIHttpError =>
  new OpenAIHttpError(
    500,
    'server_error',
    'The server had an error while processing your request. Sorry about that!',
  );

export const rateLimited = (retryAfterSeconds: number): OpenAIHttpError =>
  new OpenAIHttpError(
    429,
    'requests',
    `Rate limit reached for requests. Please try again in ${formatSeconds(retryAfterSeconds)}.`,
    null,
    'rate_limit_exceeded',
    {
      // The SDK prefers retry-after-ms, which keeps sub-second waits exact in tests.
      'retry-after': String(Math.max(0, Math.ceil(retryAfterSeconds))),
      'retry-after-ms': String(Math.round(retryAfterSeconds * 1000)),
    },
  );

function formatSeconds(seconds: number): string {
  return seconds < 1 ? `${Math.round(seconds * 1000)}ms` : `${seconds}s`;
}
