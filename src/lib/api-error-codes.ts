/**
 * Every `error.code` the HTTP API answers with, its status and what it
 * means. Callers branch on these, so they are one closed list: ApiError only
 * takes a code from here, the OpenAPI document lists them per status, and a
 * test keeps the README's table the same as this one.
 */
export const API_ERROR_CODES = {
  invalid_request: { status: 400, meaning: 'a field, query parameter or header is wrong or missing; the message names it' },
  invalid_json: { status: 400, meaning: 'the body is empty, not valid JSON, or not UTF-8' },
  too_deep: { status: 400, meaning: 'JSON nested more than 100 levels' },
  forbidden_key: { status: 400, meaning: 'a `__proto__` key, refused in every body and NDJSON line' },
  invalid_json_line: { status: 400, meaning: 'an NDJSON line is not valid JSON or not UTF-8' },
  invalid_request_line: { status: 400, meaning: 'a batch request line is not `{custom_id, method: "POST", url, body: {model, …}}`' },
  endpoint_mismatch: { status: 400, meaning: "a request line's `url` is not the run's endpoint" },
  duplicate_custom_id: { status: 400, meaning: 'two requests or items of one run share a custom_id' },
  multiple_models: { status: 400, meaning: "a run's requests name more than one model" },
  missing_field: { status: 400, meaning: 'a POSTed item lacks the content its template reads (its text, image or placeholder field)' },
  invalid_pipeline: { status: 400, meaning: 'a pipeline definition is invalid; the message names each field' },
  invalid_pipeline_id: { status: 400, meaning: 'a pipeline id is not 1–64 letters, digits, `-` or `_`' },
  unauthorized: { status: 401, meaning: 'no valid API token (`Authorization: Bearer …`)' },
  invalid_signature: { status: 401, meaning: 'a webhook delivery whose signature or timestamp does not verify' },
  not_found: { status: 404, meaning: 'no such run, pipeline, stored object or route' },
  webhooks_disabled: { status: 404, meaning: 'a webhook delivery while OPENAI_WEBHOOK_SECRET is unset' },
  method_not_allowed: { status: 405, meaning: 'the path exists but not with this method; `Allow` lists the ones it takes' },
  read_only: { status: 405, meaning: 'a change asked of Bull Board while BULL_BOARD_WRITABLE is off' },
  run_finished: { status: 409, meaning: 'cancel asked of a run that has already ended' },
  results_not_ready: { status: 409, meaning: 'results asked of a run that has not ended yet' },
  no_source: { status: 409, meaning: 'a trigger asked of a pipeline without a source (its runs are POSTed)' },
  body_too_large: { status: 413, meaning: "the body is over the route's limit (send large runs as NDJSON)" },
  request_line_too_large: { status: 413, meaning: 'one request line cannot fit in a batch input file' },
  unsupported_media_type: { status: 415, meaning: 'a Content-Type, charset or Content-Encoding the route does not take (bodies are uncompressed UTF-8)' },
  rate_limited: { status: 429, meaning: "over the request rate of one client address (`API_RATE_LIMIT_PER_MINUTE`); retry after the `retry-after` header's seconds" },
  internal_error: { status: 500, meaning: 'an unexpected failure; the server logs it' },
  unavailable: { status: 503, meaning: 'Redis (or another part the request needs) did not answer; retry shortly' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** The codes answered with `status`, in the list's order. */
export const apiErrorCodesOf = (status: number): ApiErrorCode[] =>
  (Object.keys(API_ERROR_CODES) as ApiErrorCode[]).filter((code) => API_ERROR_CODES[code].status === status);

/** The body every error is sent as. */
export const apiErrorBody = (code: ApiErrorCode, message: string): { error: { code: ApiErrorCode; message: string } } => ({ error: { code, message } });
