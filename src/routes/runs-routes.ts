import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { ApiError, badRequest } from '../lib/api-error.js';
import { BATCH_ENDPOINTS, type BatchEndpoint } from '../lib/batch-limits.js';
import { ForbiddenKeyError, forbiddenKey, parseJsonRefusingForbiddenKeys } from '../lib/forbidden-json-keys.js';
import { assertJsonDepth } from '../lib/json-depth.js';
import { InvalidUtf8Error, LineTooLongError, readLines } from '../lib/jsonl.js';
import { LineFileWriter } from '../lib/line-file-writer.js';
import { endpointOfTemplate, modelOf } from '../pipelines/templates/template-definition.js';
import { cancelRun } from '../runs/cancel-run.js';
import { createRun } from '../runs/create-run.js';
import { maxRequestLineBytes, requestLineTooLarge } from '../runs/request-line-limit.js';
import { RequestLineValidator } from '../runs/request-line-validator.js';
import { FINAL_RUN_STATUSES, type RunStatus } from '../runs/run-record.js';
import { parseRunBody, runBodySchema } from '../runs/run-request.js';
import { getRunView, listRunViews, MAX_RUNS_EXAMINED } from '../runs/run-queries.js';
import { storageKeys } from '../runs/storage-keys.js';
import { NDJSON } from './content-types.js';
import { emptyQuerySchema } from './empty-query-schema.js';
import { queryValidator } from './query-validator.js';
import { errorResponses } from './error-schema.js';
import { unsupportedMediaType } from './unsupported-media-type.js';
import { listRunsQuerySchema, ndjsonRunQuerySchema, runIdParamsSchema, runViewSchema } from './run-schemas.js';
import { resolvePipelineRun } from './resolve-pipeline-run.js';
import { ndjsonRequestNaming } from '../runs/request-naming.js';

/** JSON bodies are held in memory to validate; anything bigger belongs in the NDJSON form, which streams. */
export const JSON_RUN_BODY_LIMIT = 64 * 1024 * 1024;

export function runsRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    // The NDJSON form is handed over as the raw request stream: never buffered, never parsed whole.
    app.addContentTypeParser(NDJSON, (_request, payload, done) => done(null, payload));

    app.post(
      '/v1/runs',
      {
        bodyLimit: JSON_RUN_BODY_LIMIT,
        // The form is chosen by its fields and validated in parseRunBody for precise messages; the schema is for the docs.
        validatorCompiler: ({ httpPart }) => (httpPart === 'body' ? (data: unknown) => ({ value: data }) : queryValidator(ndjsonRunQuerySchema)),
        schema: {
          summary: 'Start an ad-hoc run',
          description: `JSON: { template, items } | { pipeline, items } | { endpoint, requests }. Or an NDJSON stream of request lines with Content-Type ${NDJSON} and ?endpoint=.`,
          tags: ['runs'],
          querystring: ndjsonRunQuerySchema,
          body: runBodySchema,
          response: { 202: runViewSchema, ...errorResponses(404, 413, 415) },
        },
      },
      async (request, reply) => {
        const contentType = request.headers['content-type'] ?? '';
        if (!contentType.startsWith(NDJSON) && !contentType.startsWith('application/json')) {
          throw unsupportedMediaType(contentType, true);
        }
        const run = contentType.startsWith(NDJSON)
          ? await acceptNdjsonRun(deps, request.body as unknown as Readable, request.query.endpoint).catch((error: unknown) => {
              // Refused before the stream ended (a bad or oversized line): close the connection after the answer, as
              // Fastify does for a body it refuses while parsing, so the client stops sending the rest.
              if (!request.raw.complete) void reply.header('connection', 'close');
              throw error;
            })
          : await acceptJsonRun(deps, request.body, request.query.endpoint);
        return reply.code(202).send(await getRunView(deps, run.id));
      },
    );

    app.get(
      '/v1/runs',
      {
        schema: {
          summary: 'List runs, newest first',
          description: `Pages of \`limit\` runs; pass \`next_before\` as \`before\` for the next page while \`has_more\` is true. With \`status\`, one request reads at most ${MAX_RUNS_EXAMINED} runs: a filtered page may then hold fewer than \`limit\` runs (even none) while \`has_more\` is true, and \`next_before\` goes on from the last run read. \`has_more\` false means no run is left.`,
          tags: ['runs'],
          querystring: listRunsQuerySchema, response: { 200: z.object({ object: z.literal('list'), data: z.array(runViewSchema), has_more: z.boolean(), next_before: z.string().nullable() }), ...errorResponses() },
        },
      },
      async (request) => {
        const { pipeline, status, limit, before } = request.query;
        return { object: 'list' as const, ...(await listRunViews(deps, { pipelineId: pipeline, status, limit, before })) };
      },
    );

    app.get(
      '/v1/runs/:id',
      { schema: { summary: 'One run', tags: ['runs'], params: runIdParamsSchema, querystring: emptyQuerySchema, response: { 200: runViewSchema, ...errorResponses(404) } } },
      async (request) => getRunView(deps, request.params.id),
    );

    app.get(
      '/v1/runs/:id/results',
      { schema: { summary: 'The run\'s joined results as NDJSON, one line per request', tags: ['runs'], params: runIdParamsSchema, querystring: emptyQuerySchema, response: { 200: z.string().describe(`${NDJSON}: one result line per request of the run`), ...errorResponses(404, 409) } } },
      async (request, reply) => {
        const view = await getRunView(deps, request.params.id);
        if (!FINAL_RUN_STATUSES.includes(view.status as RunStatus) || view.results_url === null) {
          throw new ApiError('results_not_ready', `run ${view.id} is ${view.status}; results are available once it has ended`);
        }
        const stream = await deps.storage.get(storageKeys.runResults(view.id));
        // Streamed as is: a stream bypasses the serializer, whose types only know the JSON error bodies.
        return (reply as FastifyReply).type(NDJSON).send(stream);
      },
    );

    app.post(
      '/v1/runs/:id/cancel',
      { schema: { summary: 'Cancel the run\'s batches that are not terminal', tags: ['runs'], params: runIdParamsSchema, querystring: emptyQuerySchema, response: { 202: runViewSchema, ...errorResponses(404, 409, 413, 415) } } },
      async (request, reply) => {
        await cancelRun(deps, request.params.id);
        return reply.code(202).send(await getRunView(deps, request.params.id));
      },
    );
  };
}

async function acceptJsonRun(deps: Deps, body: unknown, endpointQuery: string | undefined) {
  // Ignoring it would leave a caller believing it chose the endpoint; the JSON forms name it in the body or the template.
  if (endpointQuery !== undefined) throw badRequest('invalid_request', `querystring: endpoint belongs to the ${NDJSON} form; a JSON body names its endpoint in the body (or its template does)`);
  const parsed = parseRunBody(body);
  if (parsed.kind === 'requests') {
    // The body limit is below a shard's today, but a line must fit one shard whatever either is set to.
    const maxBytes = maxRequestLineBytes(deps.tuning);
    const lines = parsed.requests.map((line, index) => {
      const text = JSON.stringify(line);
      if (Buffer.byteLength(text) > maxBytes) throw requestLineTooLarge(`requests[${index}]`, maxBytes);
      return text;
    });
    return createRun(deps, { pipeline_id: null, input_kind: 'requests', endpoint: parsed.endpoint, model: parsed.model, template: null, source: null, slack_webhook_url: null, output_url: null, metadata: parsed.metadata }, async (_runId, key) => {
      await deps.storage.put(key, lines.map((line) => `${line}\n`).join(''));
      return { count: lines.length };
    });
  }
  const { spec, items } = parsed.kind === 'pipeline' ? await resolvePipelineRun(deps, parsed.pipelineId, parsed.items) : { spec: { pipeline_id: null, template: parsed.template, slack_webhook_url: null, output_url: null }, items: parsed.items };
  return createRun(
    deps,
    { ...spec, input_kind: 'items', endpoint: endpointOfTemplate(spec.template), model: modelOf(spec.template), source: null, metadata: parsed.metadata },
    async (_runId, key) => {
      await deps.storage.put(key, items.map((item) => `${JSON.stringify(item)}\n`).join(''));
      return { count: items.length };
    },
  );
}

/** Streams request lines to a local file, validating each as it passes, then to storage. */
async function acceptNdjsonRun(deps: Deps, stream: Readable, endpoint: BatchEndpoint | undefined) {
  if (endpoint === undefined) {
    stream.resume();
    throw badRequest('invalid_request', `?endpoint= is required with ${NDJSON} and must be one of ${BATCH_ENDPOINTS.join(', ')}`);
  }
  const validator = new RequestLineValidator(endpoint, ndjsonRequestNaming);
  const maxLineBytes = maxRequestLineBytes(deps.tuning);
  return createRun(deps, { pipeline_id: null, input_kind: 'requests', endpoint, model: null, template: null, source: null, slack_webhook_url: null, output_url: null }, async (runId, key) => {
    const local = new LineFileWriter(path.join(deps.workDir, `${runId}-upload.jsonl`));
    try {
      let lineNumber = 0;
      // Blank lines are skipped but counted, so an error names the line as the caller's editor numbers it.
      for await (const raw of readLines(stream, { maxLineBytes, keepBlankLines: true, refuseInvalidUtf8: true })) {
        lineNumber += 1;
        if (raw === '') continue;
        assertJsonDepth(raw, () => `line ${lineNumber}`);
        let value: unknown;
        try {
          // The same keys a JSON body is refused for (Fastify's parser checks those); a line without them costs two indexOf.
          value = parseJsonRefusingForbiddenKeys(raw);
        } catch (error) {
          if (error instanceof ForbiddenKeyError) throw forbiddenKey(`line ${lineNumber}`);
          throw badRequest('invalid_json_line', `line ${lineNumber} is not valid JSON`);
        }
        validator.check(value, lineNumber);
        await local.write(raw.trim());
      }
      if (validator.count === 0) throw badRequest('invalid_request', 'the NDJSON body holds no request lines');
      await local.close();
      await deps.storage.put(key, createReadStream(local.path));
      return { count: validator.count, model: validator.runModel };
    } catch (error) {
      // The splitter stopped reading the line at the limit.
      if (error instanceof LineTooLongError) throw requestLineTooLarge(`line ${error.line}`, error.maxLineBytes);
      // JSON text is UTF-8: bytes that are not would otherwise reach the model as U+FFFD.
      if (error instanceof InvalidUtf8Error) throw badRequest('invalid_json_line', `line ${error.line} is not valid UTF-8: send the lines encoded as UTF-8`);
      throw error;
    } finally {
      await local.close();
      await rm(local.path, { force: true });
    }
  });
}
