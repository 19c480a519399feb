import type { FastifyError, FastifySchemaCompiler } from 'fastify';
import { validatorCompiler as zodValidatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/api-error.js';
import { pipelinePutBodySchema } from '../pipelines/pipeline-definition.js';
import { PipelineRegistry } from '../pipelines/pipeline-registry.js';
import { assertRedisReady } from '../runs/create-run.js';
import { errorHandler } from './error-handler.js';
import { emptyQuerySchema } from './empty-query-schema.js';
import { errorResponses } from './error-schema.js';
import { pipelineIdParamsSchema, pipelineListSchema, pipelineTriggerSchema, pipelineViewSchema } from './pipeline-schemas.js';

/**
 * The id and body are validated by the registry (assertPipelineId,
 * parsePipelinePutBody), before anything is written: every route then answers
 * a bad id with the same `invalid_pipeline_id`, and a bad body with messages
 * that name each field. Their route schemas are for the docs; the
 * querystring's is enforced.
 */
const validatedByRegistry = (route: Parameters<FastifySchemaCompiler<unknown>>[0]): ReturnType<FastifySchemaCompiler<unknown>> => {
  const { schema } = route;
  // The querystring is not the registry's: it is checked as on every route, so unknown parameters read the same.
  if (route.httpPart === 'querystring' && schema instanceof z.ZodType) return zodValidatorCompiler({ ...route, schema });
  return (data: unknown) => ({ value: data });
};

/** Scheduled pipelines: define (PUT), read, list, delete, and collect now (trigger). */
export function pipelinesRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const registry = new PipelineRegistry(deps);

    // The shared handler's 413 advises sending large runs as NDJSON; a pipeline has no such
    // form, and a definition that large is settings gone wrong: its items belong in a run.
    app.setErrorHandler<FastifyError>((error, request, reply) =>
      errorHandler(
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? new ApiError('body_too_large', `a pipeline definition is at most ${request.routeOptions.bodyLimit} bytes; items to process go in a run (POST /v1/runs { "pipeline": "<id>", "items": [...] }), not in the definition`)
          : error,
        request,
        reply,
      ),
    );

    app.put(
      '/v1/pipelines/:id',
      {
        validatorCompiler: validatedByRegistry,
        schema: {
          summary: 'Define or replace a pipeline',
          description:
            'Validated whole before anything is stored: a bad definition is a 400 naming the field, and nothing is stored or scheduled. 201 when created, 200 when replaced; a schedule replaces the previous one. A pipeline as GET returns it is accepted unchanged: null parts are absent, the read-only fields are ignored, and the masked Slack webhook URL keeps the stored one.',
          tags: ['pipelines'],
          params: pipelineIdParamsSchema,
          querystring: emptyQuerySchema,
          body: pipelinePutBodySchema,
          response: { 200: pipelineViewSchema, 201: pipelineViewSchema, ...errorResponses(413, 415) },
        },
      },
      async (request, reply) => {
        assertRedisReady(deps);
        const { created, pipeline } = await registry.put(request.params.id, request.body);
        return reply.code(created ? 201 : 200).send(pipeline);
      },
    );

    app.get(
      '/v1/pipelines',
      { schema: { summary: 'List pipelines by id', tags: ['pipelines'], querystring: emptyQuerySchema, response: { 200: pipelineListSchema, ...errorResponses() } } },
      async () => {
        assertRedisReady(deps);
        return { object: 'list' as const, data: await registry.list() };
      },
    );

    app.get(
      '/v1/pipelines/:id',
      { validatorCompiler: validatedByRegistry, schema: { summary: 'One pipeline, with its next scheduled run and how its last collection ended', tags: ['pipelines'], params: pipelineIdParamsSchema, querystring: emptyQuerySchema, response: { 200: pipelineViewSchema, ...errorResponses(404) } } },
      async (request) => {
        assertRedisReady(deps);
        return registry.get(request.params.id);
      },
    );

    app.delete(
      '/v1/pipelines/:id',
      { validatorCompiler: validatedByRegistry, schema: { summary: 'Delete a pipeline and its schedule (runs already started go on)', tags: ['pipelines'], params: pipelineIdParamsSchema, querystring: emptyQuerySchema, response: { 204: z.null().describe('Deleted'), ...errorResponses(404, 413, 415) } } },
      async (request, reply) => {
        assertRedisReady(deps);
        await registry.delete(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/pipelines/:id/trigger',
      { validatorCompiler: validatedByRegistry, schema: { summary: 'Collect now, outside the schedule', tags: ['pipelines'], params: pipelineIdParamsSchema, querystring: emptyQuerySchema, response: { 202: pipelineTriggerSchema, ...errorResponses(404, 409, 413, 415) } } },
      async (request, reply) => {
        assertRedisReady(deps);
        return reply.code(202).send(await registry.trigger(request.params.id));
      },
    );
  };
}
