import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import fastifyMultipart from '@fastify/multipart';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { ApiFaults } from './api-faults.js';
import { BatchEngine } from './batch-engine.js';
import { registerBatchRoutes } from './batch-routes.js';
import { registerControlRoutes } from './control-routes.js';
import { newRequestId } from './emulator-ids.js';
import { createLedger, type EmulatorLedger } from './emulator-ledger.js';
import { parseEmulatorOptions, type EmulatorFaults, type EmulatorOperation, type EmulatorOptions, type EmulatorOptionsInput } from './emulator-options.js';
import { FileStore } from './file-store.js';
import { registerFileRoutes } from './file-routes.js';
import { OpenAIHttpError, invalidRequest } from './openai-error.js';
import { WebhookSender } from './webhook-sender.js';

/** What tests and the CLI reach besides the HTTP API. */
export interface EmulatorControls {
  readonly options: EmulatorOptions;
  /** Live: change a field and the next request sees it. */
  readonly faults: EmulatorFaults;
  readonly ledger: EmulatorLedger;
  readonly dataDir: string;
}

export type EmulatorApp = FastifyInstance & { readonly emulator: EmulatorControls };

const OPERATIONS: Record<string, EmulatorOperation> = {
  'POST /v1/files': 'createFile',
  'GET /v1/files': 'listFiles',
  'GET /v1/files/:file_id': 'retrieveFile',
  'GET /v1/files/:file_id/content': 'downloadFile',
  'DELETE /v1/files/:file_id': 'deleteFile',
  'POST /v1/batches': 'createBatch',
  'GET /v1/batches': 'listBatches',
  'GET /v1/batches/:batch_id': 'retrieveBatch',
  'POST /v1/batches/:batch_id/cancel': 'cancelBatch',
};

const MISSING_KEY_MESSAGE =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";

/** OpenAI shows a wrong key with its middle masked. */
function maskKey(key: string): string {
  return key.length <= 8 ? `${key.slice(0, 2)}***` : `${key.slice(0, 3)}${'*'.repeat(Math.min(20, key.length - 7))}${key.slice(-4)}`;
}

function authenticate(header: string | undefined, apiKey: string): void {
  if (header === undefined || header.trim() === '') throw new OpenAIHttpError(401, 'invalid_request_error', MISSING_KEY_MESSAGE);
  const key = /^Bearer\s+(.+)$/i.exec(header.trim())?.[1]?.trim();
  if (key === undefined || key === '') throw new OpenAIHttpError(401, 'invalid_request_error', MISSING_KEY_MESSAGE);
  if (key !== apiKey) {
    throw new OpenAIHttpError(
      401,
      'invalid_request_error',
      `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      null,
      'invalid_api_key',
    );
  }
}

/** Builds the emulator's Fastify app (not listening; `startEmulator` listens). */
export function buildEmulatorApp(input: EmulatorOptionsInput = {}): EmulatorApp {
  const options = parseEmulatorOptions(input);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'batchline-emulator-'));
  mkdirSync(join(dataDir, 'files'), { recursive: true });

  const app: FastifyInstance = Fastify({
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel },
    genReqId: () => newRequestId(),
    // Our ids are OpenAI-shaped; a client's x-request-id is not taken over.
    requestIdHeader: false,
  });

  const faults = options.faults;
  const store = new FileStore(dataDir);
  const webhooks =
    options.webhook === undefined ? null : new WebhookSender(options.webhook, (message) => app.log.warn(message));
  const engine = new BatchEngine(options, faults, store, webhooks, (message, error) => app.log.error({ err: error }, message));
  const apiFaults = new ApiFaults(faults);
  const ledger = createLedger(engine, store, webhooks);

  const sweep = webhooks === null ? null : setInterval(() => engine.sweep(), options.sweepIntervalMs);
  sweep?.unref();

  void app.register(fastifyMultipart, {
    limits: { fileSize: options.maxFileBytes + 1, files: 1, fields: 10, parts: 12 },
    throwFileSizeLimit: false,
  });

  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/') && !request.url.startsWith('/_emulator/')) return;
    authenticate(request.headers.authorization, options.apiKey);
    const operation = OPERATIONS[`${request.method} ${request.routeOptions.url ?? ''}`];
    if (operation === undefined) return;
    const latency = apiFaults.latencyFor(operation);
    if (latency > 0) await sleep(latency);
    const error = apiFaults.errorFor(operation);
    if (error !== null) throw error;
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('openai-version', '2020-10-01');
    reply.header('openai-processing-ms', String(Math.max(0, Math.round(reply.elapsedTime))));
  });

  app.setErrorHandler((error: FastifyError | OpenAIHttpError, request, reply) => {
    let failure: OpenAIHttpError;
    if (error instanceof OpenAIHttpError) failure = error;
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own refusals (bad JSON, wrong content type, too large a body) in OpenAI's shape.
      failure = invalidRequest(
        error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError
          ? 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)'
          : error.message,
        null,
        null,
        error.statusCode,
      );
    } else {
      request.log.error({ err: error }, 'emulator error');
      failure = new OpenAIHttpError(500, 'server_error', 'The server had an error while processing your request. Sorry about that!');
    }
    void reply.code(failure.statusCode).headers(failure.headers).send(failure.toBody());
  });

  app.setNotFoundHandler((request, reply) => {
    const failure = invalidRequest(`Invalid URL (${request.method} ${request.url.split('?')[0] ?? ''})`, null, null, 404);
    void reply.code(404).send(failure.toBody());
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  registerFileRoutes(app, store, options);
  registerBatchRoutes(app, engine, apiFaults);
  registerControlRoutes(app, faults, ledger);

  app.addHook('onClose', async () => {
    if (sweep !== null) clearInterval(sweep);
    await engine.close();
    await webhooks?.close();
    if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const controls: EmulatorControls = { options, faults, ledger, dataDir };
  app.decorate('emulator', controls);
  return app as EmulatorApp;
}
