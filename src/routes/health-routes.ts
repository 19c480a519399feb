import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { readRedisSettings } from '../queues/redis-requirements.js';

const readinessSchema = z.object({
  status: z.enum(['ready', 'unavailable']),
  redis: z.string().describe('"ok", or why Redis did not answer'),
  persistence: z.enum(['aof', 'none', 'unknown']),
  eviction: z.string().describe('Redis maxmemory-policy'),
});

export function healthRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/healthz', { schema: { summary: 'Liveness: the process answers', tags: ['health'], security: [], response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({ status: 'ok' as const }));

    app.get(
      '/readyz',
      {
        schema: {
          summary: 'Readiness: Redis reachable, with AOF persistence and noeviction',
          description: 'persistence is "aof", or "none" (not ready unless BATCHLINE_ALLOW_EPHEMERAL_REDIS); eviction is Redis\'s maxmemory-policy, which must be noeviction.',
          tags: ['health'],
          // Open to probes: no API token.
          security: [],
          response: { 200: readinessSchema.extend({ status: z.literal('ready') }), 503: readinessSchema.extend({ status: z.literal('unavailable') }) },
        },
      },
      async (_request, reply) => {
        let settings;
        try {
          settings = await readRedisSettings(deps.redis);
        } catch (error) {
          return reply.code(503).send({ status: 'unavailable' as const, redis: error instanceof Error ? error.message : 'unreachable', persistence: 'unknown', eviction: 'unknown' });
        }
        // The same rules the service starts by: an evicting or (unless allowed) non-persistent Redis can lose jobs and ledger entries.
        const persistence = settings.aofEnabled ? ('aof' as const) : ('none' as const);
        const ready = settings.maxmemoryPolicy === 'noeviction' && (settings.aofEnabled || deps.config.BATCHLINE_ALLOW_EPHEMERAL_REDIS);
        const body = { redis: 'ok', persistence, eviction: settings.maxmemoryPolicy };
        return ready ? { status: 'ready' as const, ...body } : reply.code(503).send({ status: 'unavailable' as const, ...body });
      },
    );
  };
}
