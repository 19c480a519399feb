import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { pipelineDefinitionSchema } from '../pipelines/pipeline-definition.js';
import { PipelineRegistry } from '../pipelines/pipeline-registry.js';
import { assertRedisReady } from '../runs/create-run.js';
import { errorResponses } from './error-schema.js';
import { pipelineIdParamsSchema, pipelineListSchema, pipelineTriggerSchema, pipelineViewSchema } from './pipeline-schemas.js';

/** Scheduled pipelines: define (PUT), read, list, delete, and collect now (trigger). */
export function pipelinesRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const registry = new PipelineRegistry(deps);

    app.put(
      '/v1/pipelines/:id',
      {
        // The id and body are validated by the registry (assertPipelineId, parsePipelineDefinition) for
        // messages that name each field, and before anything is written; the schemas are for the docs.
        validatorCompiler: () => (data: unknown) => ({ value: data }),
        schema: {
          summary: 'Define or replace a pipeline',
          description: 'Validated whole before anything is stored: a bad definition is a 400 naming the field, and nothing is stored or scheduled. 201 when created, 200 when replaced; a schedule replaces the previous one.',
          tags: ['pipelines'],
          params: pipelineIdParamsSchema,
          body: pipelineDefinitionSchema,
          response: { 200: pipelineViewSchema, 201: pipelineViewSchema, ...errorResponses },
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
      { schema: { summary: 'List pipelines by id', tags: ['pipelines'], response: { 200: pipelineListSchema, ...errorResponses } } },
      async () => {
        assertRedisReady(deps);
        return { object: 'list' as const, data: await registry.list() };
      },
    );

    app.get(
      '/v1/pipelines/:id',
      { schema: { summary: 'One pipeline, with its next scheduled run', tags: ['pipelines'], params: pipelineIdParamsSchema, response: { 200: pipelineViewSchema, ...errorResponses } } },
      async (request) => {
        assertRedisReady(deps);
        return registry.get(request.params.id);
      },
    );

    app.delete(
      '/v1/pipelines/:id',
      { schema: { summary: 'Delete a pipeline and its schedule (runs already started go on)', tags: ['pipelines'], params: pipelineIdParamsSchema, response: { 204: z.null().describe('Deleted'), ...errorResponses } } },
      async (request, reply) => {
        assertRedisReady(deps);
        await registry.delete(request.params.id);
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/v1/pipelines/:id/trigger',
      { schema: { summary: 'Collect now, outside the schedule', tags: ['pipelines'], params: pipelineIdParamsSchema, response: { 202: pipelineTriggerSchema, ...errorResponses } } },
      async (request, reply) => {
        assertRedisReady(deps);
        return reply.code(202).send(await registry.trigger(request.params.id));
      },
    );
  };
}
