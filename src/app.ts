import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from './deps.js';
import { createApiAuth } from './routes/api-auth.js';
import { boardRoutes } from './routes/board-routes.js';
import { metricsRoutes } from './routes/metrics-routes.js';
import { webhookRoutes } from './routes/webhook-routes.js';
import { ignoreContentTypeOfEmptyBody, refuseBodyOfBodylessRoute } from './routes/bodyless-requests.js';
import { documentStreamedBodies } from './routes/openapi-streamed-bodies.js';
import { frameworkErrors, MAX_PARAM_LENGTH } from './routes/framework-errors.js';
import { refuseUnreadableBodyEncodings } from './routes/request-encoding.js';
import { errorHandler } from './routes/error-handler.js';
import { healthRoutes } from './routes/health-routes.js';
import { useDepthLimitedJsonParser } from './routes/json-body-parser.js';
import { pipelinesRoutes } from './routes/pipelines-routes.js';
import { refuseRepeatedQueryParameters } from './routes/repeated-query.js';
import { RouteMethods } from './routes/route-methods.js';
import { runsRoutes } from './routes/runs-routes.js';
import { packageVersion } from './package-version.js';
import { apiErrorBody } from './lib/api-error-codes.js';

/**
 * Builds the HTTP API over the given clients without listening, so tests
 * drive it with app.inject() and server.ts decides where it listens.
 */
export async function buildApp(deps: Deps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Behind a proxy the client address comes from X-Forwarded-For only when the deployment says so.
    trustProxy: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (an over-long id, a bad %-escape) otherwise answer in Fastify's shape, quoting the URL.
    frameworkErrors,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(errorHandler);
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => routeMethods.add(route.url, route.method));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routeMethods.allowedAt(path);
    // A method the path takes that still found nothing (a missing file under /docs/static/*) is a 404, not a 405 listing that very method.
    const methodTaken = allowed.includes(request.method) || (request.method === 'HEAD' && allowed.includes('GET'));
    if (allowed.length > 0 && !methodTaken) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send(apiErrorBody('method_not_allowed', `${request.method} is not allowed on ${path}; it takes ${allowed.join(', ')}`));
    }
    return reply.code(404).send(apiErrorBody('not_found', `no route ${request.method} ${path}`));
  });
  useDepthLimitedJsonParser(app);
  // Fastify reads text/plain by default; no route takes it, and a JSON route must answer it 415 like any other type it does not take.
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', refuseUnreadableBodyEncodings);
  app.addHook('onRequest', ignoreContentTypeOfEmptyBody);

  await app.register(swagger, {
    openapi: {
      info: { title: 'batchline', description: 'Recurring LLM batch pipelines on the OpenAI Batch API', version: packageVersion() },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: documentStreamedBodies,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const auth = createApiAuth(deps.config.API_TOKENS);
  await app.register(async (api) => {
    // Per client address, before auth so a flood of bad tokens is limited too; webhooks, health and metrics sit outside this scope.
    if (deps.config.API_RATE_LIMIT_PER_MINUTE > 0) {
      await api.register(rateLimit, { global: false, max: deps.config.API_RATE_LIMIT_PER_MINUTE, timeWindow: 60_000 });
      // A scope hook rather than the plugin's per-route one, which would run after the auth hook below.
      api.addHook('onRequest', api.rateLimit());
    }
    api.addHook('onRequest', auth);
    api.addHook('onRequest', refuseBodyOfBodylessRoute);
    api.addHook('preValidation', refuseRepeatedQueryParameters);
    await api.register(runsRoutes(deps));
    await api.register(pipelinesRoutes(deps));
  });
  await app.register(healthRoutes(deps));
  await app.register(metricsRoutes(deps));
  await app.register(webhookRoutes(deps));
  await app.register(boardRoutes(deps));
  return app;
}
