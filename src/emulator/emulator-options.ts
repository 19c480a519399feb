import { z } from 'zod';
import { MAX_BATCH_FILE_BYTES } from '../lib/batch-limits.js';

/** The OpenAPI operation ids the emulator serves; API-level faults can be aimed at some of them. */
export const EMULATOR_OPERATIONS = [
  'createFile',
  'listFiles',
  'retrieveFile',
  'downloadFile',
  'deleteFile',
  'createBatch',
  'listBatches',
  'retrieveBatch',
  'cancelBatch',
] as const;
export type EmulatorOperation = (typeof EMULATOR_OPERATIONS)[number];

/** What a dropCreateResponse predicate is shown about the batch that was just created. */
export interface CreatedBatchInfo {
  batchId: string;
  inputFileId: string;
  endpoint: string;
  metadata: Readonly<Record<string, string>> | null;
}
export type DropCreatePredicate = (batch: CreatedBatchInfo) => boolean;

const count = z.number().int().min(0);
const fraction = z.number().min(0).max(1);

/**
 * Faults that apply to the whole server. The object is kept and read live, so
 * a test may change a field between two steps (`emulator.faults.serverErrorNext = 1`).
 */
export const emulatorFaultsSchema = z.object({
  /** Share of requests in every batch answered with an error line (0..1). */
  requestErrorRate: fraction.default(0),
  /** Every batch expires once this share of its requests is done (null: never). */
  expireAtFraction: fraction.nullable().default(null),
  /**
   * Enqueued-token limit per model, counted over batches still running, as
   * OpenAI's organisation limit is; `'*'` applies to models not listed.
   */
  tokenBudgetPerModel: z.record(z.string(), z.number().int().positive()).default({}),
  /** Every Nth API request (of `operations`) answers 429 (0: off). */
  rateLimitEvery: count.default(0),
  /** The next N API requests (of `operations`) answer 429; counts down. */
  rateLimitNext: count.default(0),
  /** The retry-after a 429 announces, in seconds (fractions allowed; also sent as retry-after-ms). */
  retryAfterSeconds: z.number().min(0).default(1),
  /** Every Nth API request (of `operations`) answers 500 (0: off). */
  serverErrorEvery: count.default(0),
  /** The next N API requests (of `operations`) answer 500; counts down. */
  serverErrorNext: count.default(0),
  /** Added before every API response (of `operations`). */
  latencyMs: count.default(0),
  /**
   * batches.create creates the batch and then drops the connection instead of
   * answering: a number drops the next N creates (counts down), a predicate
   * decides per created batch.
   */
  dropCreateResponse: z.union([count, z.custom<DropCreatePredicate>((value) => typeof value === 'function', 'must be a function')]).default(0),
  /** The operations the 429/500/latency faults hit; null: all of them. */
  operations: z.array(z.enum(EMULATOR_OPERATIONS)).nullable().default(null),
});
export type EmulatorFaults = z.output<typeof emulatorFaultsSchema>;
export type EmulatorFaultsInput = z.input<typeof emulatorFaultsSchema>;

export const emulatorWebhookSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  /** A Standard Webhooks secret: `whsec_` then base64. */
  secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/, 'must be whsec_ followed by base64'),
  /** Deliver each event this many times (webhooks may arrive more than once). */
  repeat: z.number().int().min(1).max(10).default(1),
});
export type EmulatorWebhook = z.output<typeof emulatorWebhookSchema>;

const durationMs = z.number().int().min(0);

export const emulatorOptionsSchema = z.object({
  /** The bearer key clients must send. */
  apiKey: z.string().min(1).default('sk-emulator'),
  /** Where file contents are kept; a temporary folder (removed on close) when absent. */
  dataDir: z.string().min(1).optional(),
  host: z.string().min(1).default('127.0.0.1'),
  /** 0: any free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** How long each phase lasts; 0 makes it instant (a batch is terminal at its first retrieve). */
  validatingMs: durationMs.default(0),
  inProgressMs: durationMs.default(0),
  finalizingMs: durationMs.default(0),
  cancellingMs: durationMs.default(0),
  faults: emulatorFaultsSchema.prefault({}),
  webhook: emulatorWebhookSchema.optional(),
  /** Seeds the shuffle of result lines and the choice of failing requests. */
  seed: z.number().int().default(1),
  /** OpenAI's limit for purpose=batch uploads. */
  maxBatchFileBytes: z.number().int().positive().default(MAX_BATCH_FILE_BYTES),
  /** OpenAI's limit for any upload. */
  maxFileBytes: z.number().int().positive().default(512 * 1024 * 1024),
  /** How often batches are checked for turning terminal, when webhooks are on. */
  sweepIntervalMs: z.number().int().min(10).default(100),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('silent'),
});
export type EmulatorOptions = z.output<typeof emulatorOptionsSchema>;
export type EmulatorOptionsInput = z.input<typeof emulatorOptionsSchema>;

export function parseEmulatorOptions(input: EmulatorOptionsInput = {}): EmulatorOptions {
  return emulatorOptionsSchema.parse(input);
}
