import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';

export function healthRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/healthz', { schema: { summary: 'Liveness: the process answers', tags: ['health'], response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: Redis reachable',
          tags: ['health'],
          response: { 200: z.object({ status: z.literal('ready'), redis: z.string() }), 503: z.object({ status: z.literal('unavailable'), redis: z.string() }) },
        },
      },
      async (_request, reply) => {
        try {
          await deps.redis.ping();
          return { status: 'ready' as const, redis: 'ok' };
        } catch (error) {
          return reply.code(503).send({ status: 'unavailable' as const, redis: error instanceof Error ? error.message : 'unreachable' });
        }
      },
    );
  };
}
