import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/api-error.js';
import { assertJsonDepth } from '../lib/json-depth.js';
import type { WebhookOutcome } from '../metrics/service-metrics.js';
import { jobIds } from '../queues/job-ids.js';
import { emptyQuerySchema } from './empty-query-schema.js';
import { errorResponseSchemaFor } from './error-schema.js';
import { queryValidator } from './query-validator.js';

/** OpenAI's webhook events are a few hundred bytes; anything near this is not one of them. */
const WEBHOOK_BODY_LIMIT = 64 * 1024;
/** OpenAI retries a delivery for up to about three days; a day of memory covers the repeats that matter. */
const SEEN_TTL_SECONDS = 24 * 3600;
/** The SDK's tolerance: a timestamp more than this far in the past or future is refused (replay protection). */
const TIMESTAMP_TOLERANCE_SECONDS = 300;

const TERMINAL_BATCH_EVENTS = new Set(['batch.completed', 'batch.failed', 'batch.expired', 'batch.cancelled']);

const eventSchema = z
  .object({
    id: z.string(),
    object: z.literal('event'),
    created_at: z.number().int(),
    type: z.string().describe('batch.completed | batch.failed | batch.expired | batch.cancelled (other events are acknowledged and ignored)'),
    data: z.object({ id: z.string().describe('the batch id') }),
  })
  .describe('OpenAI webhook event');

const acknowledgementSchema = z.object({
  received: z.literal(true),
  outcome: z.enum(['accepted', 'duplicate', 'unknown_batch', 'ignored']).describe('accepted: the batch is checked now; the others change nothing'),
});

/**
 * POST /v1/webhooks/openai: a terminal batch event promotes that batch's
 * delayed poll job so it runs now. Authenticated by its Standard Webhooks
 * signature over the raw body (not by API tokens); a webhook is only a hint,
 * polling stays the path every batch can rely on. Without
 * OPENAI_WEBHOOK_SECRET nothing can be verified, so every delivery gets a
 * 404 that says webhooks are off (not a bare "no route", which reads like a
 * wrong URL).
 */
export function webhookRoutes(deps: Deps): FastifyPluginAsyncZod {
  return async (app) => {
    const secret = deps.config.OPENAI_WEBHOOK_SECRET;

    // The signature covers the exact bytes sent: keep the body as the raw string in this plugin's scope only.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: WEBHOOK_BODY_LIMIT }, (_request, body, done) => done(null, body));

    app.post(
      '/v1/webhooks/openai',
      {
        bodyLimit: WEBHOOK_BODY_LIMIT,
        // The body is checked by its signature, then parsed, and the headers by the signature check; the schema documents them.
        validatorCompiler: ({ httpPart }) => (httpPart === 'querystring' ? queryValidator(emptyQuerySchema) : (data: unknown) => ({ value: data })),
        schema: {
          summary: 'OpenAI batch webhook: a terminal event checks that batch at once',
          description:
            'Signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature) with OPENAI_WEBHOOK_SECRET; timestamps more than 5 minutes off are refused, and a repeated webhook-id is acknowledged without effect. Not behind API tokens. 404 when OPENAI_WEBHOOK_SECRET is unset.',
          tags: ['webhooks'],
          security: [],
          querystring: emptyQuerySchema,
          headers: z.object({ 'webhook-id': z.string(), 'webhook-timestamp': z.string(), 'webhook-signature': z.string() }),
          body: eventSchema,
          // Not behind the API's token or rate limit: its own errors only.
          response: { 200: acknowledgementSchema, 400: errorResponseSchemaFor(400), 401: errorResponseSchemaFor(401), 404: errorResponseSchemaFor(404), 413: errorResponseSchemaFor(413), 415: errorResponseSchemaFor(415), 503: errorResponseSchemaFor(503) },
        },
      },
      async (request) => {
        if (secret === undefined) throw new ApiError('webhooks_disabled', 'webhooks are off on this server: set OPENAI_WEBHOOK_SECRET to the endpoint\'s signing secret to receive them');
        const raw = request.body as unknown;
        if (typeof raw !== 'string') throw new ApiError('invalid_request', 'the body must be the JSON event');
        try {
          await deps.openai.webhooks.verifySignature(raw, request.headers, secret, TIMESTAMP_TOLERANCE_SECONDS);
        } catch (error) {
          await deps.metrics.webhookReceived('rejected');
          request.log.warn({ reason: error instanceof Error ? error.message : String(error) }, 'webhook refused');
          throw new ApiError('invalid_signature', `webhook refused: ${error instanceof Error ? error.message : 'signature check failed'}`);
        }
        const webhookId = String(request.headers['webhook-id']);
        let event: z.infer<typeof eventSchema>;
        try {
          event = parseEvent(raw);
        } catch (error) {
          await deps.metrics.webhookReceived('invalid');
          throw error;
        }
        const outcome = await handleOnce(deps, webhookId, event);
        await deps.metrics.webhookReceived(outcome);
        request.log.info({ webhook_id: webhookId, event_type: event.type, batch_id: event.data.id, outcome }, 'webhook received');
        return { received: true as const, outcome };
      },
    );
  };
}

function parseEvent(raw: string): z.infer<typeof eventSchema> {
  assertJsonDepth(raw, 'the signed body');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ApiError('invalid_json', 'the signed body is not valid JSON');
  }
  const parsed = eventSchema.safeParse(json);
  if (!parsed.success) throw new ApiError('invalid_request', 'the signed body is not an OpenAI event ({id, object, created_at, type, data: {id}})');
  return parsed.data;
}

/** Webhooks arrive more than once: the first delivery of a webhook-id acts, the rest are acknowledged. */
async function handleOnce(deps: Deps, webhookId: string, event: z.infer<typeof eventSchema>): Promise<Exclude<WebhookOutcome, 'rejected' | 'invalid'>> {
  const seenKey = `${deps.config.BATCHLINE_PREFIX}:webhooks:seen:${webhookId}`;
  if ((await deps.redis.set(seenKey, event.type, 'EX', SEEN_TTL_SECONDS, 'NX')) !== 'OK') return 'duplicate';
  try {
    if (!TERMINAL_BATCH_EVENTS.has(event.type)) return 'ignored';
    const batchId = event.data.id;
    const ref = await deps.ledger.findBatch(batchId);
    // Another deployment's batch, or one this service no longer tracks.
    if (ref === null) return 'unknown_batch';
    await checkBatchNow(deps, { ...ref, batchId });
    return 'accepted';
  } catch (error) {
    // Not handled: forget the id so OpenAI's retry of this delivery gets another go.
    await deps.redis.del(seenKey).catch(() => undefined);
    throw error;
  }
}

/**
 * Promotes the batch's poll job if it is waiting for its next check. A job
 * already running or queued will check anyway; no job means the batch is
 * past polling (or not yet watched, and its first check is near).
 */
async function checkBatchNow(deps: Deps, ref: { runId: string; shard: number; generation: number; batchId: string }): Promise<void> {
  const job = await deps.queues.poll.getJob(jobIds.poll(ref));
  if (job === undefined || !(await job.isDelayed())) return;
  try {
    await job.promote();
  } catch (error) {
    // It left the delayed set between the two calls: it is running or done, which is what was wanted.
    if (await job.isDelayed()) throw error;
  }
}
