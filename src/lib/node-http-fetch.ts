import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { giveBackUploadChunk, uploadedFile, readUploadedFile, type UploadedFile } from './uploaded-file.js';
import { uploadProgress } from './upload-progress.js';

/**
 * A fetch over node:http / node:https for the OpenAI SDK
 * (`new OpenAI({ fetch: nodeHttpFetch })`).
 *
 * Why: Node 20's built-in fetch holds a streamed request body in memory until
 * the request ends (undici issue 4058), so uploading a 150 MB batch file costs
 * 150 MB of RSS. Here request bodies (streams, Blobs backed by files, FormData
 * with such Blobs) are piped to the socket with backpressure, FormData is
 * encoded with a Content-Length, and response bodies are handed over as a web
 * stream that only reads from the socket when the consumer pulls.
 *
 * Non-HTTP URLs (data:, blob:) go to the built-in fetch.
 */

const MAX_REDIRECTS = 20;
/**
 * How much of a response body may wait for a slow consumer. A results join
 * reads a 40 MB output file while it works on each chunk: with 256 KB the
 * socket paused so often that the join waited 40-65 ms per file for bytes,
 * with 2 MB 13-22 ms.
 */
const RESPONSE_BUFFER_BYTES = 2 * 1024 * 1024;

interface BodySource {
  /** Makes the body's bytes; called again for a redirect, so a replayable body can be re-sent. */
  open(): AsyncIterable<Uint8Array> | Buffer | null;
  length: number | undefined;
  contentType: string | undefined;
  /** A one-shot stream cannot be sent twice (a 307/308 redirect). */
  replayable: boolean;
}

const escapeFormName = (name: string): string => name.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');

/**
 * multipart/form-data with a known length; Blobs (file-backed ones too) are streamed, never read whole.
 * The part of the file an upload names (uploadedFile) is read from its path, in larger chunks than a Blob's.
 */
function multipartSource(form: FormData): BodySource {
  const boundary = `----batchline${randomBytes(12).toString('hex')}`;
  const parts: Array<Buffer | Blob | UploadedFile> = [];
  const stored = uploadedFile.getStore();
  form.forEach((value, name) => {
    if (typeof value === 'string') {
      const text = value.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n');
      parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeFormName(name)}"\r\n\r\n${text}\r\n`));
    } else {
      parts.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${escapeFormName(name)}"; filename="${escapeFormName(value.name)}"\r\n` +
            `Content-Type: ${value.type === '' ? 'application/octet-stream' : value.type}\r\n\r\n`,
        ),
        stored !== undefined && value.name === stored.name && value.size === stored.size ? stored : value,
        Buffer.from('\r\n'),
      );
    }
  });
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  const length = parts.reduce((sum, part) => sum + (Buffer.isBuffer(part) ? part.length : part.size), 0);
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const part of parts) {
      if (Buffer.isBuffer(part)) yield part;
      else if (part instanceof Blob) yield* part.stream();
      else yield* readUploadedFile(part);
    }
  }
  return {
    open: chunks,
    length,
    contentType: `multipart/form-data; boundary=${boundary}`,
    replayable: true,
  };
}

const bufferSource = (buffer: Buffer, contentType?: string): BodySource => ({ open: () => buffer, length: buffer.length, contentType, replayable: true });

function bodySource(body: unknown): BodySource {
  if (body === null || body === undefined) return { open: () => null, length: undefined, contentType: undefined, replayable: true };
  if (typeof body === 'string') return bufferSource(Buffer.from(body), 'text/plain;charset=UTF-8');
  if (body instanceof ArrayBuffer) return bufferSource(Buffer.from(body));
  if (ArrayBuffer.isView(body)) return bufferSource(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  if (body instanceof URLSearchParams) return bufferSource(Buffer.from(body.toString()), 'application/x-www-form-urlencoded;charset=UTF-8');
  if (body instanceof FormData) return multipartSource(body);
  if (body instanceof Blob) {
    return {
      open: () => body.stream(),
      length: body.size,
      contentType: body.type === '' ? undefined : body.type,
      replayable: true,
    };
  }
  if (body instanceof ReadableStream) {
    let used = false;
    return {
      open: () => {
        if (used) throw new TypeError('a ReadableStream body cannot be sent twice');
        used = true;
        return body as AsyncIterable<Uint8Array>;
      },
      length: undefined,
      contentType: undefined,
      replayable: false,
    };
  }
  if (typeof body === 'object' && Symbol.asyncIterator in body) {
    return { open: () => body as AsyncIterable<Uint8Array>, length: undefined, contentType: undefined, replayable: false };
  }
  throw new TypeError(`nodeHttpFetch cannot send a body of type ${Object.prototype.toString.call(body)}`);
}

/**
 * Sends a streamed body at the socket's pace and ends the request. Each chunk
 * is written with a callback that gives a lent upload chunk back once the
 * socket has it (uploaded-file.ts): an upload reuses a few chunks' memory
 * instead of leaving a new 256 KB buffer behind per chunk.
 */
async function writeBody(payload: AsyncIterable<Uint8Array>, request: http.ClientRequest, onSent: ((bytes: number) => void) | undefined): Promise<void> {
  let sent = 0;
  for await (const chunk of payload) {
    if (request.destroyed) throw new Error('the request closed before its body was sent');
    const more = request.write(chunk, () => giveBackUploadChunk(chunk));
    sent += chunk.length;
    onSent?.(sent);
    if (!more) await drained(request);
  }
  request.end();
}

/** Resolves at the request's next drain; rejects if it closes first. */
const drained = (request: http.ClientRequest): Promise<void> =>
  new Promise((resolve, reject) => {
    const onDrain = (): void => {
      request.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      request.off('drain', onDrain);
      reject(new Error('the request closed before its body was sent'));
    };
    request.once('drain', onDrain);
    request.once('close', onClose);
  });

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/**
 * A web stream over the response that pauses the socket whenever more than
 * RESPONSE_BUFFER_BYTES wait unread (Readable.toWeb counts chunks, not bytes).
 */
function toWebStream(source: Readable): ReadableStream<Uint8Array> {
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        source.pause();
        source.on('data', (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) source.pause();
        });
        source.once('end', () => {
          if (done) return;
          done = true;
          controller.close();
        });
        source.once('error', (error) => {
          if (done) return;
          done = true;
          controller.error(error);
        });
        source.once('close', () => {
          if (done) return;
          done = true;
          controller.error(new Error('the response ended before its body was complete'));
        });
      },
      pull() {
        source.resume();
      },
      cancel(reason) {
        done = true;
        source.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: RESPONSE_BUFFER_BYTES }),
  );
}

function decoded(response: IncomingMessage): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '').trim().toLowerCase();
  let decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | null = null;
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = zlib.createGunzip();
  else if (encoding === 'deflate') decoder = zlib.createInflate();
  else if (encoding === 'br') decoder = zlib.createBrotliDecompress();
  if (decoder === null) return response;
  const output = decoder;
  pipeline(response, output).catch(() => undefined);
  return output;
}

type FetchInput = string | URL | Request;

export async function nodeHttpFetch(input: FetchInput, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request ? input : undefined;
  const url = new URL(request?.url ?? String(input));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(input, init);
  const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
  const headers = new Headers(init?.headers ?? request?.headers);
  const signal = init?.signal ?? request?.signal ?? undefined;
  const body = init?.body !== undefined ? init.body : request?.body ?? null;
  const redirect = init?.redirect ?? request?.redirect ?? 'follow';
  return send(url, method, headers, bodySource(body), signal, redirect, 0);
}

async function send(
  url: URL,
  method: string,
  headers: Headers,
  source: BodySource,
  signal: AbortSignal | undefined,
  redirect: NonNullable<RequestInit['redirect']>,
  redirects: number,
): Promise<Response> {
  if (signal?.aborted === true) throw abortReason(signal);
  const outgoing: Record<string, string> = {};
  headers.forEach((value, name) => {
    outgoing[name] = value;
  });
  if (source.contentType !== undefined && outgoing['content-type'] === undefined) outgoing['content-type'] = source.contentType;
  const payload = source.open();
  if (outgoing['content-length'] === undefined) {
    if (source.length !== undefined) outgoing['content-length'] = String(source.length);
    else if (payload === null && method !== 'GET' && method !== 'HEAD') outgoing['content-length'] = '0';
  }

  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const transport = url.protocol === 'https:' ? https : http;
    const outgoingRequest = transport.request(url, { method, headers: outgoing });
    const onAbort = (): void => {
      const reason = abortReason(signal as AbortSignal);
      outgoingRequest.destroy(reason instanceof Error ? reason : undefined);
      reject(reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    outgoingRequest.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(signal?.aborted === true ? abortReason(signal) : new TypeError('fetch failed', { cause: error }));
    });
    outgoingRequest.once('response', (incoming) => {
      // The abort listener stays until the body is read or dropped, so an abort also stops a download.
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      incoming.once('close', detach);
      if (signal !== undefined) {
        signal.addEventListener('abort', () => incoming.destroy(), { once: true });
      }
      resolve(incoming);
    });
    if (payload === null) outgoingRequest.end();
    else if (Buffer.isBuffer(payload)) outgoingRequest.end(payload);
    else {
      // A failed upload ends the request with the error.
      writeBody(payload, outgoingRequest, uploadProgress.getStore()).catch((error: unknown) => {
        outgoingRequest.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    }
  });

  const status = response.statusCode ?? 0;
  const location = response.headers.location;
  if ([301, 302, 303, 307, 308].includes(status) && location !== undefined && redirect !== 'manual') {
    response.resume();
    if (redirect === 'error') throw new TypeError('fetch failed', { cause: new Error(`redirect to ${location} refused (redirect: "error")`) });
    if (redirects >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error('too many redirects') });
    const next = new URL(location, url);
    if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
      const nextHeaders = new Headers(headers);
      for (const name of ['content-type', 'content-length', 'content-encoding']) nextHeaders.delete(name);
      return send(next, method === 'HEAD' ? 'HEAD' : 'GET', nextHeaders, bodySource(null), signal, redirect, redirects + 1);
    }
    if (!source.replayable) throw new TypeError('fetch failed', { cause: new Error('cannot follow a redirect with a streamed body') });
    return send(next, method, headers, source, signal, redirect, redirects + 1);
  }

  const responseHeaders = new Headers();
  for (let i = 0; i + 1 < response.rawHeaders.length; i += 2) {
    responseHeaders.append(response.rawHeaders[i] as string, response.rawHeaders[i + 1] as string);
  }
  const noBody = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  if (noBody) response.resume();
  const result = new Response(noBody ? null : toWebStream(decoded(response)), {
    status,
    statusText: response.statusMessage ?? '',
    headers: responseHeaders,
  });
  Object.defineProperty(result, 'url', { value: url.href });
  return result;
}
