import type { EmulatorFaults, EmulatorOptions } from './emulator-options.js';
import { invalidRequest, type OpenAIHttpError } from './openai-error.js';
import { unitHash } from './seeded-random.js';

/**
 * Per-batch fault injection. A batch's metadata may carry `emulator_*` keys
 * that override the server's faults and timing for that batch only; they are
 * read once, when the batch is created, into a plan.
 */
export const METADATA_FAULT_KEYS = [
  'emulator_error_rate',
  'emulator_error_shape',
  'emulator_error_status',
  'emulator_fail_lines',
  'emulator_invalid_lines',
  'emulator_invalid_custom_ids',
  'emulator_expire_at',
  'emulator_latency_ms',
  'emulator_validating_ms',
  'emulator_in_progress_ms',
  'emulator_finalizing_ms',
  'emulator_cancelling_ms',
] as const;

/** A request whose body contains this text always fails (see README). */
export const FAIL_MARKER = 'EMULATOR_FAIL';

export type ErrorShape = 'response' | 'error' | 'mixed';

export interface BatchTiming {
  validatingMs: number;
  inProgressMs: number;
  finalizingMs: number;
  cancellingMs: number;
}

export interface BatchPlan {
  timing: BatchTiming;
  errorRate: number;
  errorShape: ErrorShape;
  /** Forces the status code of `response`-shaped error lines; null: 400 or 500 by hash. */
  errorStatus: number | null;
  /** 1-based line numbers of the input file that fail. */
  failLines: ReadonlySet<number>;
  /** 1-based line numbers that validation rejects, failing the whole batch as OpenAI does. */
  invalidLines: ReadonlySet<number>;
  /** custom_ids validation rejects wherever they stand: like OpenAI, which judges a line by its content. */
  invalidCustomIds: ReadonlySet<string>;
  expireAtFraction: number | null;
  /** Added to retrieve and cancel of this batch. */
  latencyMs: number;
}

function badValue(key: string, value: string, expected: string): OpenAIHttpError {
  return invalidRequest(`Invalid value for metadata '${key}': ${JSON.stringify(value)} (expected ${expected}).`, `metadata.${key}`, 'invalid_value');
}

function fractionValue(key: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw badValue(key, value, 'a number from 0 to 1');
  return n;
}

function msValue(key: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw badValue(key, value, 'a whole number of milliseconds');
  return n;
}

/** Reads the plan for a new batch; a malformed or unknown `emulator_*` key is refused with a 400. */
export function planBatch(metadata: Readonly<Record<string, string>> | null, options: EmulatorOptions, faults: EmulatorFaults): BatchPlan {
  const plan: BatchPlan = {
    timing: {
      validatingMs: options.validatingMs,
      inProgressMs: options.inProgressMs,
      finalizingMs: options.finalizingMs,
      cancellingMs: options.cancellingMs,
    },
    errorRate: faults.requestErrorRate,
    errorShape: 'mixed',
    errorStatus: null,
    failLines: new Set(),
    invalidLines: new Set(),
    invalidCustomIds: new Set(),
    expireAtFraction: faults.expireAtFraction,
    latencyMs: 0,
  };
  const failLines = new Set<number>();
  const invalidLines = new Set<number>();
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (!key.startsWith('emulator_')) continue;
    switch (key) {
      case 'emulator_error_rate':
        plan.errorRate = fractionValue(key, value);
        break;
      case 'emulator_error_shape':
        if (value !== 'response' && value !== 'error' && value !== 'mixed') throw badValue(key, value, 'response, error or mixed');
        plan.errorShape = value;
        break;
      case 'emulator_error_status': {
        const status = Number(value);
        if (!Number.isInteger(status) || status < 400 || status > 599) throw badValue(key, value, 'an HTTP status from 400 to 599');
        plan.errorStatus = status;
        break;
      }
      case 'emulator_fail_lines':
      case 'emulator_invalid_lines':
        for (const part of value.split(',')) {
          const line = Number(part.trim());
          if (!Number.isInteger(line) || line < 1) throw badValue(key, value, 'comma-separated line numbers from 1');
          (key === 'emulator_fail_lines' ? failLines : invalidLines).add(line);
        }
        break;
      case 'emulator_invalid_custom_ids':
        plan.invalidCustomIds = new Set(value.split(',').map((id) => id.trim()).filter((id) => id !== ''));
        break;
      case 'emulator_expire_at':
        plan.expireAtFraction = fractionValue(key, value);
        break;
      case 'emulator_latency_ms':
        plan.latencyMs = msValue(key, value);
        break;
      case 'emulator_validating_ms':
        plan.timing.validatingMs = msValue(key, value);
        break;
      case 'emulator_in_progress_ms':
        plan.timing.inProgressMs = msValue(key, value);
        break;
      case 'emulator_finalizing_ms':
        plan.timing.finalizingMs = msValue(key, value);
        break;
      case 'emulator_cancelling_ms':
        plan.timing.cancellingMs = msValue(key, value);
        break;
      default:
        throw invalidRequest(
          `Unknown emulator metadata key '${key}'. Known keys: ${METADATA_FAULT_KEYS.join(', ')}.`,
          `metadata.${key}`,
          'invalid_value',
        );
    }
  }
  plan.failLines = failLines;
  plan.invalidLines = invalidLines;
  return plan;
}

/** Whether a request line fails: a listed line, the marker, or the error rate (by a hash, so replays agree). */
export function requestFails(plan: BatchPlan, seed: number, batchSequence: number, lineNumber: number, customId: string, rawLine: string): boolean {
  if (plan.failLines.has(lineNumber)) return true;
  if (rawLine.includes(FAIL_MARKER)) return true;
  return plan.errorRate > 0 && unitHash(seed, batchSequence, customId, 'fails') < plan.errorRate;
}

export type FailureLine =
  | { shape: 'response'; statusCode: number; error: { message: string; type: string; param: null; code: string | null } }
  | { shape: 'error'; code: string; message: string };

/** How a failing request shows in the error file: one of OpenAI's two shapes. */
export function failureFor(plan: BatchPlan, seed: number, batchSequence: number, customId: string): FailureLine {
  const pick = unitHash(seed, batchSequence, customId, 'shape');
  const shape = plan.errorShape === 'mixed' ? (pick < 0.5 ? 'response' : 'error') : plan.errorShape;
  if (shape === 'error') {
    return { shape: 'error', code: 'server_error', message: 'The server had an error while processing this request (injected by the emulator).' };
  }
  const statusCode = plan.errorStatus ?? (unitHash(seed, batchSequence, customId, 'status') < 0.5 ? 400 : 500);
  if (statusCode >= 500) {
    return {
      shape: 'response',
      statusCode,
      error: { message: 'The server had an error while processing your request. Sorry about that! (injected by the emulator)', type: 'server_error', param: null, code: null },
    };
  }
  return {
    shape: 'response',
    statusCode,
    error: { message: 'Invalid request: the emulator rejected this request (injected fault).', type: 'invalid_request_error', param: null, code: 'invalid_value' },
  };
}
