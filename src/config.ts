import { isIP } from 'node:net';
import { z } from 'zod';
import { concurrencySetting, queuesSetting } from './queues/worker-queue-settings.js';
import { defaultTuning } from './tuning.js';

/**
 * The one reader of process.env. Every variable of PRODUCT.md is validated
 * here once, and a bad one stops the process with a message naming it.
 */
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Blank and unset are one: loadConfig drops blank values before any variable is read (see blankAsUnset). */
const optionalString = z.string().optional();

/**
 * The one place where a blank value (`LOG_LEVEL=` in an .env file, `value: ""`
 * in a Kubernetes manifest) becomes unset, so every variable takes its default
 * rather than each refusing or accepting blanks its own way; surrounding
 * spaces go too.
 */
export function blankAsUnset(env: NodeJS.ProcessEnv): Record<string, string> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const trimmed = value?.trim();
    if (trimmed !== undefined && trimmed !== '') present[name] = trimmed;
  }
  return present;
}

/** The spellings a yes/no setting accepts, in any case; anything else is refused rather than read as "no". */
const TRUE_WORDS = ['1', 'true', 'yes', 'on'] as const;
const FALSE_WORDS = ['0', 'false', 'no', 'off'] as const;
const flag = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum([...TRUE_WORDS, ...FALSE_WORDS], { message: `must be one of ${[...TRUE_WORDS, ...FALSE_WORDS].join(', ')} (any case)` }))
  .transform((value) => (TRUE_WORDS as readonly string[]).includes(value))
  .default(false);

/**
 * Decimal digits only: Number() would also take `1e3`, `0x10` and `0b1`, and
 * read a blank value as 0 (PORT= would mean "any free port").
 */
const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number written in digits')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** An optional whole number: unset or blank means "use the built-in default". */
const optionalInt = (min: number, max = Number.MAX_SAFE_INTEGER) => optionalString.pipe(wholeNumber(min, max).optional());

/** A whole number with a default, taken when the variable is unset or blank. */
const intWithDefault = (fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) =>
  optionalInt(min, max).transform((value) => value ?? fallback);

/** How far the heap may grow past its live size, in %, unset or blank: 20 (src/heap-growth.ts). */
const DEFAULT_HEAP_GROWTH_PERCENT = 20;
const heapGrowthPercent = intWithDefault(DEFAULT_HEAP_GROWTH_PERCENT, 0, 300);

/**
 * A host name's labels (RFC 1123); the last one not all digits, so a mistyped
 * address such as 999.1.1.1 is refused here rather than looked up in DNS.
 */
const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*(?!\d+$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

const urlWithProtocols = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const envSchema = z.object({
  REDIS_URL: urlWithProtocols(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString.pipe(urlWithProtocols(['http:', 'https:']).optional()),
  OPENAI_ORG_ID: optionalString,
  OPENAI_PROJECT_ID: optionalString,
  OPENAI_WEBHOOK_SECRET: optionalString,
  STORAGE_URL: z
    .string()
    .default('file://./data')
    .refine((value) => value.startsWith('file://') || /^s3:\/\/[a-z0-9.-]{3,63}(\/.*)?$/.test(value), {
      message: 'must be file://DIR or s3://BUCKET/PREFIX',
    }),
  AWS_REGION: optionalString,
  AWS_ENDPOINT_URL_S3: optionalString.pipe(urlWithProtocols(['http:', 'https:']).optional()),
  SLACK_WEBHOOK_URL: optionalString.pipe(urlWithProtocols(['http:', 'https:']).optional()),
  HOST: optionalString
    .refine((value) => value === undefined || isIP(value) !== 0 || HOSTNAME.test(value), { message: 'must be an IP address or a host name' })
    .transform((value) => value ?? '0.0.0.0'),
  PORT: intWithDefault(3000, 0, 65535),
  // Set but naming no token (`,`) is refused rather than read as unset: that would quietly open the API to loopback callers only.
  API_TOKENS: optionalString
    .transform((value) => (value === undefined ? undefined : value.split(',').map((token) => token.trim()).filter((token) => token !== '')))
    .refine((tokens) => tokens === undefined || tokens.length > 0, { message: 'names no token (comma-separated tokens, or unset for loopback callers only)' })
    .transform((tokens) => tokens ?? []),
  LOG_LEVEL: z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(logLevels, { message: `must be one of ${logLevels.join(', ')} (any case)` }))
    .default('info'),
  PIPELINES_FILE: optionalString,
  /**
   * How long a worker's hold on a job (BullMQ's lockDuration, also the
   * stalled-job check interval) and a pipeline's collection lock last
   * without renewal: after a worker dies, its jobs and collections are taken
   * over within about twice this.
   */
  BATCHLINE_JOB_LOCK_MS: intWithDefault(30_000, 1000),
  /** Tests only: a named step (e.g. collect:after-page:1) where the process stops for good, to be killed there. */
  BATCHLINE_TEST_PAUSE_AT: optionalString,
  /**
   * Tests only, never in production: comma-separated crash points (e.g.
   * `submit:after-create,results:mid-download#200`) where the process kills
   * itself with SIGKILL; `#N` fires on the Nth pass instead of the first.
   */
  BATCHLINE_CRASH_AT: optionalString,
  /** Tests only: a folder where a fired crash point leaves a marker, so the restarted process runs through it. */
  BATCHLINE_CRASH_MARKER_DIR: optionalString,
  /** How often a worker re-drives ledger steps that no live job drives (lost or failed jobs); it also sweeps at start. */
  BATCHLINE_SWEEP_INTERVAL_MS: intWithDefault(60_000, 100),
  /** First batch status check after creation, then doubling up to BATCHLINE_POLL_MAX_MS (unset: 10 s and 5 min). */
  BATCHLINE_POLL_INITIAL_MS: optionalInt(10),
  BATCHLINE_POLL_MAX_MS: optionalInt(10),
  /**
   * Cap on batch status checks (retrieve calls) per second across every
   * worker process on this Redis, so a backlog of thousands of waiting
   * batches stays under OpenAI's rate limits; due checks beyond it wait their turn.
   */
  BATCHLINE_POLLS_PER_SECOND: intWithDefault(20, 1),
  /** Jobs of a stage one worker process runs at once, as `stage=N` pairs; stages not named keep their defaults. */
  BATCHLINE_CONCURRENCY: concurrencySetting,
  /** The stages a worker process runs (comma-separated); unset: every stage. */
  BATCHLINE_QUEUES: queuesSetting,
  /** Requests per shard, at most OpenAI's 50,000 per batch (unset: 50,000). */
  BATCHLINE_SHARD_MAX_REQUESTS: optionalInt(1, 50_000),
  /** Threads a worker process parses and encodes batch output files on, beside its event loop (unset: 2; 0 on one core; 0: none). */
  BATCHLINE_JOIN_THREADS: optionalInt(0, 16),
  /**
   * How far the heap may grow past its live size (in % of it) before V8
   * collects it in full; 0 keeps V8's own rule (up to 4×). Read once at start
   * by main.ts, before the service's modules load; checked here. See src/heap-growth.ts.
   */
  BATCHLINE_HEAP_GROWTH_PERCENT: heapGrowthPercent,
  /** Lets tests and the demo run on a Redis without persistence (a warning is logged). */
  BATCHLINE_ALLOW_EPHEMERAL_REDIS: flag,
  /** Key prefix of every BullMQ queue and ledger key, so deployments and tests can share one Redis. */
  BATCHLINE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('batchline'),
  /** Requests per minute per client on /v1/* (0: no limit); webhooks, health and metrics are not limited. */
  API_RATE_LIMIT_PER_MINUTE: intWithDefault(600, 0),
  /**
   * On SIGTERM, how long running jobs may take to finish before they are
   * handed back to their queue for another worker; keep it below the
   * orchestrator's own grace period (compose stop_grace_period).
   */
  BATCHLINE_SHUTDOWN_GRACE_MS: intWithDefault(60_000, 0),
  /** Bull Board may retry, remove and promote jobs only when set. */
  BULL_BOARD_WRITABLE: flag,
}).superRefine((env, context) => {
  // Checks back off from the first interval up to the maximum: a first interval above the maximum, set or by default, is a typo.
  const initial = env.BATCHLINE_POLL_INITIAL_MS ?? defaultTuning.pollInitialMs;
  const max = env.BATCHLINE_POLL_MAX_MS ?? defaultTuning.pollMaxMs;
  if (initial > max) {
    const which = env.BATCHLINE_POLL_INITIAL_MS === undefined ? 'BATCHLINE_POLL_MAX_MS' : 'BATCHLINE_POLL_INITIAL_MS';
    const described = (value: number, set: boolean) => `${value}${set ? '' : ' by default'}`;
    context.addIssue({
      code: 'custom',
      path: [which],
      message: `the first status check (BATCHLINE_POLL_INITIAL_MS ${described(initial, env.BATCHLINE_POLL_INITIAL_MS !== undefined)}) must not come later than the longest interval between checks (BATCHLINE_POLL_MAX_MS ${described(max, env.BATCHLINE_POLL_MAX_MS !== undefined)})`,
    });
  }
});

export type Config = z.infer<typeof envSchema>;

/**
 * The heap's growth alone, read before the rest of batchline loads (main.ts
 * sets it then; see src/heap-growth.ts). A bad value reads as the default
 * here, and loadConfig refuses to start with it a moment later.
 */
export function heapGrowthPercentAtStart(env: NodeJS.ProcessEnv = process.env): number {
  const parsed = heapGrowthPercent.safeParse(blankAsUnset(env)['BATCHLINE_HEAP_GROWTH_PERCENT']);
  return parsed.success ? parsed.data : DEFAULT_HEAP_GROWTH_PERCENT;
}

/** Every variable batchline reads. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as ReadonlyArray<keyof Config>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(blankAsUnset(env));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      const value = env[variable];
      return `${variable}${value === undefined ? '' : `=${JSON.stringify(redactIfSecret(variable, value))}`}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return parsed.data;
}

const SECRET_VARIABLES = new Set(['OPENAI_API_KEY', 'OPENAI_WEBHOOK_SECRET', 'SLACK_WEBHOOK_URL', 'API_TOKENS', 'AWS_SECRET_ACCESS_KEY', 'REDIS_URL']);

function redactIfSecret(variable: string, value: string): string {
  return SECRET_VARIABLES.has(variable) ? '[redacted]' : value;
}

/**
 * `npm start` refuses to run without an API key unless the base URL points at
 * an emulator (a loopback or non-OpenAI host), where any key will do.
 */
export function requireOpenAIKey(config: Config): string {
  if (config.OPENAI_API_KEY !== undefined) return config.OPENAI_API_KEY;
  const base = config.OPENAI_BASE_URL;
  if (base !== undefined && !new URL(base).hostname.endsWith('openai.com')) return 'sk-emulator';
  throw new ConfigError('OPENAI_API_KEY is not set (set it, or point OPENAI_BASE_URL at an emulator such as `batchline emulator`)');
}
