import type { SwaggerTransformObject } from '@fastify/swagger';
import { NDJSON } from './content-types.js';

/** The few parts of an OpenAPI 3 document this touches (the full types live in a package the app does not depend on). */
interface MediaType {
  schema?: { type?: string; description?: string };
}
interface WithContent {
  content?: Record<string, MediaType>;
}
interface Operation {
  requestBody?: WithContent;
  responses?: Record<string, WithContent>;
}
type Paths = Record<string, Record<string, Operation | undefined> | undefined>;

/** An NDJSON body as the document shows it: text, one JSON value per line. */
const ndjsonText = (description: string): MediaType => ({ schema: { type: 'string', description } });

/**
 * Route schemas describe JSON only, so the generated document listed
 * POST /v1/runs's NDJSON form in prose alone and claimed the results route
 * answers application/json. This puts each route's streamed media type where
 * a client generator reads it: the NDJSON request body beside the JSON one,
 * and the results' 200 as NDJSON only (its errors stay JSON).
 */
export const documentStreamedBodies: SwaggerTransformObject = (documentObject) => {
  if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
  const document = documentObject.openapiObject;
  const paths = (document.paths ?? {}) as Paths;
  const runBody = paths['/v1/runs']?.['post']?.requestBody?.content;
  if (runBody !== undefined) {
    runBody[NDJSON] = ndjsonText('one batch request line per line, `{custom_id, method: "POST", url, body}`, each for the `endpoint` query parameter; blank lines are skipped');
  }
  const results = paths['/v1/runs/{id}/results']?.['get']?.responses?.['200'];
  if (results?.content !== undefined) {
    results.content = { [NDJSON]: ndjsonText(results.content['application/json']?.schema?.description ?? 'one result line per request of the run') };
  }
  return document;
};
