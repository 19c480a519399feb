import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { BATCH_ENDPOINTS, METADATA_MAX_KEY_LENGTH, METADATA_MAX_PAIRS, METADATA_MAX_VALUE_LENGTH } from '../lib/batch-limits.js';
import type { ApiFaults } from './api-faults.js';
import type { BatchEngine, BatchRecord } from './batch-engine.js';
import { listQueryValue } from './list-query.js';
import { invalidRequest, invalidValue, missingParameter, noSuchBatch } from './openai-error.js';

/** OpenAI's Batches API: create, list (newest first, cursor), retrieve, cancel. */

/** Endpoints OpenAI accepts for batches that the emulator has no response generator for. */
const UNSUPPORTED_ENDPOINTS = ['/v1/images/generations', '/v1/images/edits', '/v1/videos'];
const CREATE_FIELDS = new Set(['input_file_id', 'endpoint', 'completion_window', 'metadata', 'output_expires_after']);

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

function requiredString(body: JsonObject, param: string): string {
  const value = body[param];
  if (value === undefined || value === null) throw missingParameter(param);
  if (typeof value !== 'string') throw invalidRequest(`Invalid type for '${param}': expected a string, but got ${typeof value} instead.`, param, 'invalid_type');
  return value;
}

function readMetadata(value: unknown): Record<string, string> | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw invalidRequest("Invalid type for 'metadata': expected an object.", 'metadata', 'invalid_type');
  const entries = Object.entries(value);
  if (entries.length > METADATA_MAX_PAIRS) {
    throw invalidRequest(
      `Invalid 'metadata': too many properties. Expected an object with at most ${METADATA_MAX_PAIRS} properties, but got an object with ${entries.length} properties instead.`,
      'metadata',
      'object_above_max_properties',
    );
  }
  const metadata: Record<string, string> = {};
  for (const [key, entry] of entries) {
    if (key.length > METADATA_MAX_KEY_LENGTH) {
      throw invalidRequest(`Invalid 'metadata': key '${key.slice(0, 20)}…' is longer than ${METADATA_MAX_KEY_LENGTH} characters.`, 'metadata', 'invalid_value');
    }
    if (typeof entry !== 'string') throw invalidRequest(`Invalid type for 'metadata.${key}': expected a string.`, `metadata.${key}`, 'invalid_type');
    if (entry.length > METADATA_MAX_VALUE_LENGTH) {
      throw invalidRequest(`Invalid 'metadata.${key}': string too long. Expected a string with maximum length ${METADATA_MAX_VALUE_LENGTH}.`, `metadata.${key}`, 'string_above_max_length');
    }
    metadata[key] = entry;
  }
  return metadata;
}

function readOutputExpiresAfter(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw invalidRequest("Invalid type for 'output_expires_after': expected an object.", 'output_expires_after', 'invalid_type');
  if (value['anchor'] !== 'created_at') throw invalidValue('output_expires_after.anchor', value['anchor'] ?? null, ['created_at']);
  const seconds = value['seconds'];
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 3600 || seconds > 2_592_000) {
    throw invalidRequest("Invalid 'output_expires_after.seconds': expected an integer from 3600 to 2592000.", 'output_expires_after.seconds', 'invalid_value');
  }
  return seconds;
}

export function registerBatchRoutes(app: FastifyInstance, engine: BatchEngine, faults: ApiFaults): void {
  const find = async (id: string): Promise<BatchRecord> => {
    const record = engine.get(id);
    if (record === undefined) throw noSuchBatch(id);
    if (record.plan.latencyMs > 0) await sleep(record.plan.latencyMs);
    return record;
  };

  app.post('/v1/batches', async (request, reply) => {
    const body = request.body;
    if (!isObject(body)) throw invalidRequest('We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.');
    for (const key of Object.keys(body)) {
      if (!CREATE_FIELDS.has(key)) throw invalidRequest(`Unrecognized request argument supplied: ${key}`, key);
    }
    const inputFileId = requiredString(body, 'input_file_id');
    const endpoint = requiredString(body, 'endpoint');
    if (UNSUPPORTED_ENDPOINTS.includes(endpoint)) throw invalidRequest(`The emulator does not run batches for '${endpoint}'.`, 'endpoint', 'invalid_value');
    if (!(BATCH_ENDPOINTS as readonly string[]).includes(endpoint)) throw invalidValue('endpoint', endpoint, BATCH_ENDPOINTS);
    const completionWindow = requiredString(body, 'completion_window');
    if (completionWindow !== '24h') throw invalidValue('completion_window', completionWindow, ['24h']);
    const record = engine.create({
      inputFileId,
      endpoint,
      completionWindow,
      metadata: readMetadata(body['metadata']),
      outputExpiresAfterSeconds: readOutputExpiresAfter(body['output_expires_after']),
    });
    if (faults.dropCreateResponse({ batchId: record.id, inputFileId, endpoint, metadata: record.params.metadata })) {
      // The batch exists, but the client never hears of it: the connection just drops.
      record.createResponseDropped = true;
      reply.hijack();
      request.raw.socket.destroy();
      return reply;
    }
    // Like OpenAI, create answers at once with the batch validating.
    return engine.describe(record, Date.now());
  });

  app.get('/v1/batches', async (request) => {
    const query = request.query as Record<string, unknown>;
    const limit = listQueryValue.limit(query['limit'], 100, 20);
    const after = listQueryValue.string(query['after'], 'after');
    const page = await engine.list(after, limit);
    return { object: 'list', data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.hasMore };
  });

  app.get('/v1/batches/:batch_id', async (request) => {
    const { batch_id: id } = request.params as { batch_id: string };
    return engine.view(await find(id));
  });

  app.post('/v1/batches/:batch_id/cancel', async (request) => {
    const { batch_id: id } = request.params as { batch_id: string };
    return engine.cancel(await find(id));
  });
}
