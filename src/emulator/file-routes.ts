import { rm } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { EmulatorOptions } from './emulator-options.js';
import { DEFAULT_BATCH_FILE_TTL_SECONDS, FILE_PURPOSES, toFileObject, type FileStore, type UploadPurpose } from './file-store.js';
import { invalidRequest, invalidValue, missingParameter, noSuchFile } from './openai-error.js';
import { listQueryValue } from './list-query.js';

/** OpenAI's Files API: upload (streamed to disk), list, retrieve, download (streamed), delete. */
const EXPIRES_AFTER_SECONDS = { min: 3600, max: 2_592_000 };
const UPLOAD_FIELDS = new Set(['purpose', 'expires_after[anchor]', 'expires_after[seconds]']);

export function registerFileRoutes(app: FastifyInstance, store: FileStore, options: EmulatorOptions): void {
  app.post('/v1/files', async (request) => {
    if (!request.isMultipart()) {
      throw invalidRequest(`Invalid Content-Type header (${request.headers['content-type'] ?? 'none'}), expected multipart/form-data.`);
    }
    const target = store.allocate();
    let upload: { bytes: number; filename: string; truncated: boolean } | null = null;
    const fields = new Map<string, string>();
    let keep = false;
    try {
      // The SDK sends the file part before purpose, so the file goes to disk before we know what it is for.
      for await (const part of request.parts()) {
        if (part.type === 'file') {
          if (part.fieldname !== 'file' || upload !== null) {
            part.file.resume();
            throw invalidRequest(`Unrecognized file field '${part.fieldname}': send exactly one file, in the field 'file'.`, part.fieldname);
          }
          const bytes = await store.writeStream(part.file, target.path);
          upload = { bytes, filename: part.filename, truncated: part.file.truncated };
        } else {
          if (!UPLOAD_FIELDS.has(part.fieldname)) throw invalidRequest(`Unrecognized request argument supplied: ${part.fieldname}`, part.fieldname);
          fields.set(part.fieldname, String(part.value));
        }
      }
      const purpose = fields.get('purpose');
      if (purpose === undefined) throw missingParameter('purpose');
      if (!(FILE_PURPOSES as readonly string[]).includes(purpose)) throw invalidValue('purpose', purpose, FILE_PURPOSES);
      if (upload === null) throw missingParameter('file');
      if (upload.truncated || (purpose === 'batch' && upload.bytes > options.maxBatchFileBytes)) {
        throw invalidRequest('File is too large.', 'file');
      }
      if (purpose === 'batch' && !upload.filename.toLowerCase().endsWith('.jsonl')) {
        throw invalidRequest('Invalid file format for Batch API. Must be .jsonl', 'file');
      }
      const createdAt = Math.floor(Date.now() / 1000);
      let ttl: number | null = purpose === 'batch' ? DEFAULT_BATCH_FILE_TTL_SECONDS : null;
      const anchor = fields.get('expires_after[anchor]');
      const secondsField = fields.get('expires_after[seconds]');
      if (anchor !== undefined || secondsField !== undefined) {
        if (anchor !== 'created_at') throw invalidValue('expires_after.anchor', anchor ?? null, ['created_at']);
        const seconds = Number(secondsField);
        if (!Number.isInteger(seconds) || seconds < EXPIRES_AFTER_SECONDS.min || seconds > EXPIRES_AFTER_SECONDS.max) {
          throw invalidRequest(
            `Invalid 'expires_after.seconds': expected an integer from ${EXPIRES_AFTER_SECONDS.min} to ${EXPIRES_AFTER_SECONDS.max}.`,
            'expires_after.seconds',
            'invalid_value',
          );
        }
        ttl = seconds;
      }
      const file = store.add({
        id: target.id,
        filename: upload.filename,
        purpose: purpose as UploadPurpose,
        bytes: upload.bytes,
        createdAt,
        expiresAt: ttl === null ? null : createdAt + ttl,
        path: target.path,
      });
      keep = true;
      return toFileObject(file);
    } finally {
      if (!keep) await rm(target.path, { force: true });
    }
  });

  app.get('/v1/files', async (request) => {
    const query = request.query as Record<string, unknown>;
    const limit = listQueryValue.limit(query['limit'], 10_000, 10_000);
    const order = query['order'] ?? 'desc';
    if (order !== 'asc' && order !== 'desc') throw invalidValue('order', order, ['asc', 'desc']);
    const purpose = listQueryValue.string(query['purpose'], 'purpose');
    const after = listQueryValue.string(query['after'], 'after');
    const page = store.list({ purpose, limit, order, after });
    const data = page.data.map(toFileObject);
    return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.hasMore };
  });

  app.get('/v1/files/:file_id', async (request) => {
    const { file_id: id } = request.params as { file_id: string };
    const file = store.get(id);
    if (file === undefined) throw noSuchFile(id);
    return toFileObject(file);
  });

  app.get('/v1/files/:file_id/content', async (request, reply) => {
    const { file_id: id } = request.params as { file_id: string };
    const file = store.get(id);
    if (file === undefined) throw noSuchFile(id);
    reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(file.bytes))
      .header('content-disposition', `attachment; filename="${file.filename.replace(/"/g, '')}"`);
    return reply.send(store.openRead(file));
  });

  app.delete('/v1/files/:file_id', async (request) => {
    const { file_id: id } = request.params as { file_id: string };
    if (!(await store.delete(id))) throw noSuchFile(id);
    return { id, object: 'file', deleted: true };
  });
}
