import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { MetricsExporter } from '../metrics/metrics-exporter.js';
import { errorResponseSchemaFor } from './error-schema.js';
import { apiErrorBody } from '../lib/api-error-codes.js';

/**
 * GET /metrics for Prometheus. Not behind the API tokens, like /healthz:
 * scrapers rarely carry bearer tokens and nothing here is secret (counts
 * only, no ids, no payloads). Keep the port off the public internet.
 */
export function metricsRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const exporter = new MetricsExporter(deps.queues, deps.metrics);
    app.get(
      '/metrics',
      {
        schema: {
          summary: 'Prometheus metrics: jobs per queue and state, batches, request outcomes, poll checks, results latency, Slack failures',
          tags: ['health'],
          // Open to scrapers: no API token.
          security: [],
          produces: ['text/plain'],
          response: { 200: z.string().describe('Prometheus text exposition format 0.0.4'), 503: errorResponseSchemaFor(503) },
        },
      },
      async (_request, reply) => {
        let text: string;
        try {
          text = await exporter.scrape();
        } catch (error) {
          deps.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'metrics scrape failed');
          return reply.code(503).send(apiErrorBody('unavailable', 'metrics are read from Redis, which did not answer'));
        }
        return reply.header('content-type', exporter.contentType).send(text);
      },
    );
  };
}
