/** The content type of request lines streamed into POST /v1/runs and of results streamed out. */
export const NDJSON = 'application/x-ndjson';
