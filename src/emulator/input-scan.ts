import { createReadStream } from 'node:fs';
import { MAX_EMBEDDING_INPUTS_PER_BATCH, MAX_REQUESTS_PER_BATCH } from '../lib/batch-limits.js';
import { requestFails, type BatchPlan } from './batch-fault-plan.js';
import { estimateInputTokens, readPrompt } from './request-content.js';

/**
 * Validation of a batch's input file, as OpenAI does it after create: one
 * streaming pass that either lists what is wrong (with line numbers) or
 * records where each request is in the file, so results can later be made
 * in any order with a read per line instead of holding the file.
 */
export interface BatchLineError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

export interface AcceptedScan {
  ok: true;
  requests: number;
  model: string | null;
  /** Byte offset and length of each request's line, in file order. */
  offsets: Float64Array;
  lengths: Uint32Array;
  /** 1 where the request is planned to fail. */
  failing: Uint8Array;
  failingCount: number;
  estimatedTokens: number;
}

export interface RejectedScan {
  ok: false;
  model: string | null;
  errors: BatchLineError[];
}

export type ScanResult = AcceptedScan | RejectedScan;

export interface ScanContext {
  endpoint: string;
  plan: BatchPlan;
  seed: number;
  batchSequence: number;
}

/** OpenAI lists a bounded number of errors; more would only bloat every retrieve. */
const MAX_REPORTED_ERRORS = 100;

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

function embeddingInputCount(body: JsonObject): number {
  const input = body['input'];
  if (!Array.isArray(input) || input.length === 0) return 1;
  return input.every((entry) => typeof entry === 'number') ? 1 : input.length;
}

export async function scanInputFile(path: string, context: ScanContext): Promise<ScanResult> {
  const errors: BatchLineError[] = [];
  let errorCount = 0;
  const report = (error: BatchLineError): void => {
    errorCount++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(error);
  };

  const offsets: number[] = [];
  const lengths: number[] = [];
  const failing: number[] = [];
  const customIds = new Set<string>();
  let requests = 0;
  let failingCount = 0;
  let model: string | null = null;
  let estimatedTokens = 0;
  let embeddingInputs = 0;
  let lineNumber = 0;

  const handleLine = (line: Buffer, offset: number): void => {
    lineNumber++;
    let length = line.length;
    if (length > 0 && line[length - 1] === 0x0d) length--;
    const text = line.toString('utf8', 0, length);
    if (text.trim() === '') return;
    requests++;
    // Past the limit the batch fails anyway; only the count still matters.
    if (requests > MAX_REQUESTS_PER_BATCH) return;
    if (context.plan.invalidLines.has(lineNumber)) {
      report({ code: 'invalid_request', message: 'This line was rejected by validation (emulator_invalid_lines).', param: 'body', line: lineNumber });
      return;
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      report({ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null, line: lineNumber });
      return;
    }
    if (!isObject(parsed)) {
      report({ code: 'invalid_json_line', message: 'Each line must be a JSON object.', param: null, line: lineNumber });
      return;
    }
    let lineOk = true;
    for (const field of ['custom_id', 'method', 'url', 'body'] as const) {
      if (parsed[field] === undefined || parsed[field] === null) {
        report({ code: 'missing_required_parameter', message: `Missing required parameter: '${field}'.`, param: field, line: lineNumber });
        lineOk = false;
      }
    }
    if (!lineOk) return;
    const customId = parsed['custom_id'];
    const body = parsed['body'];
    if (typeof customId !== 'string' || customId === '') {
      report({ code: 'invalid_type', message: "Invalid type for 'custom_id': expected a non-empty string.", param: 'custom_id', line: lineNumber });
      return;
    }
    if (parsed['method'] !== 'POST') {
      report({ code: 'invalid_value', message: "Invalid value for 'method': only 'POST' is supported.", param: 'method', line: lineNumber });
      return;
    }
    if (parsed['url'] !== context.endpoint) {
      report({
        code: 'invalid_url',
        message: `The url ${JSON.stringify(parsed['url'])} does not match the batch's endpoint '${context.endpoint}'. Every request in a batch must use the batch's endpoint.`,
        param: 'url',
        line: lineNumber,
      });
      return;
    }
    if (!isObject(body)) {
      report({ code: 'invalid_type', message: "Invalid type for 'body': expected an object.", param: 'body', line: lineNumber });
      return;
    }
    if (customIds.has(customId)) {
      report({
        code: 'duplicate_custom_id',
        message: `The custom_id '${customId}' is used more than once; custom_id must be unique within a batch.`,
        param: 'custom_id',
        line: lineNumber,
      });
      return;
    }
    customIds.add(customId);
    if (context.plan.invalidCustomIds.has(customId)) {
      report({ code: 'invalid_request', message: `The request '${customId}' was rejected by validation (emulator_invalid_custom_ids).`, param: 'body', line: lineNumber });
      return;
    }
    const lineModel = body['model'];
    if (typeof lineModel !== 'string' || lineModel === '') {
      if (context.endpoint !== '/v1/moderations') {
        report({ code: 'missing_required_parameter', message: "Missing required parameter: 'body.model'.", param: 'body.model', line: lineNumber });
        return;
      }
    } else if (model === null) {
      model = lineModel;
    } else if (lineModel !== model) {
      report({
        code: 'mismatched_model',
        message: `The model '${lineModel}' on this line differs from the model '${model}' used earlier in the file. A batch may use only one model.`,
        param: 'body.model',
        line: lineNumber,
      });
      return;
    }

    estimatedTokens += estimateInputTokens(readPrompt(context.endpoint, body));
    if (context.endpoint === '/v1/embeddings') embeddingInputs += embeddingInputCount(body);
    offsets.push(offset);
    lengths.push(length);
    const fails = requestFails(context.plan, context.seed, context.batchSequence, lineNumber, customId, text);
    failing.push(fails ? 1 : 0);
    if (fails) failingCount++;
  };

  // Split the stream into lines by hand: readline does not tell byte offsets.
  let carry: Buffer[] = [];
  let carryStart = 0;
  let position = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    let newline = chunk.indexOf(0x0a, start);
    while (newline !== -1) {
      const piece = chunk.subarray(start, newline);
      if (carry.length > 0) {
        handleLine(Buffer.concat([...carry, piece]), carryStart);
        carry = [];
      } else {
        handleLine(piece, position + start);
      }
      start = newline + 1;
      newline = chunk.indexOf(0x0a, start);
    }
    if (start < chunk.length) {
      if (carry.length === 0) carryStart = position + start;
      carry.push(chunk.subarray(start));
    }
    position += chunk.length;
  }
  if (carry.length > 0) handleLine(Buffer.concat(carry), carryStart);

  if (requests === 0) {
    report({ code: 'empty_file', message: 'The input file is empty: it must contain at least one request.', param: null, line: null });
  }
  if (requests > MAX_REQUESTS_PER_BATCH) {
    report({
      code: 'request_limit_exceeded',
      message: `The input file has ${requests.toLocaleString('en-US')} requests; a batch may have at most ${MAX_REQUESTS_PER_BATCH.toLocaleString('en-US')}.`,
      param: null,
      line: null,
    });
  }
  if (embeddingInputs > MAX_EMBEDDING_INPUTS_PER_BATCH) {
    report({
      code: 'embedding_input_limit_exceeded',
      message: `The input file has ${embeddingInputs.toLocaleString('en-US')} embedding inputs; an /v1/embeddings batch may have at most ${MAX_EMBEDDING_INPUTS_PER_BATCH.toLocaleString('en-US')}.`,
      param: null,
      line: null,
    });
  }
  if (errorCount > 0) return { ok: false, model, errors };
  return {
    ok: true,
    requests,
    model,
    offsets: Float64Array.from(offsets),
    lengths: Uint32Array.from(lengths),
    failing: Uint8Array.from(failing),
    failingCount,
    estimatedTokens,
  };
}
