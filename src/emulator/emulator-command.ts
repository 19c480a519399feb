import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { listenFailure } from '../listen-failure.js';
import { METADATA_FAULT_KEYS } from './batch-fault-plan.js';
import { EMULATOR_OPERATIONS, parseEmulatorOptions, type EmulatorFaultsInput, type EmulatorOptionsInput } from './emulator-options.js';
import { startEmulator, type RunningEmulator } from './start-emulator.js';

/** `batchline emulator`: the OpenAI Files + Batches emulator as a standalone server. */
export const EMULATOR_HELP = `Usage: batchline emulator [options]

Runs a local OpenAI Files + Batches API (for tests and offline demos). Point
the service at it with OPENAI_BASE_URL=http://HOST:PORT/v1 and the API key below.

Server
  --port N                    port to listen on (default 4010; 0 = any free port)
  --host HOST                 address to bind (default 127.0.0.1)
  --api-key KEY               bearer key clients must send (default sk-emulator)
  --data-dir DIR              where file contents are kept (default: a temporary folder, removed on exit)
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info)
  --seed N                    seed for the shuffle of result lines and the choice of failing requests (default 1)

Timing (milliseconds; 0 = instant)
  --validating-ms N           time a batch spends validating (default 0)
  --in-progress-ms N          time a batch spends in_progress; request_counts move through it (default 0)
  --finalizing-ms N           time a batch spends finalizing (default 0)
  --cancelling-ms N           time a cancelled batch spends cancelling (default 0)

Faults (whole server; per batch, see metadata keys below)
  --request-error-rate R      share of requests that fail, 0..1 (default 0)
  --expire-at F               every batch expires once this share of its requests is done, 0..1
  --token-budget MODEL=N      enqueued-token limit for a model over running batches (repeatable; MODEL * = any other)
  --rate-limit-every N        every Nth API request answers 429 (default 0 = off)
  --rate-limit-next N         the next N API requests answer 429
  --retry-after S             seconds a 429 asks the client to wait (default 1; fractions allowed)
  --server-error-every N      every Nth API request answers 500 (default 0 = off)
  --server-error-next N       the next N API requests answer 500
  --latency-ms N              delay before every API response (default 0)
  --drop-create-responses N   the next N batches.create calls create the batch, then drop the connection
  --fault-operations LIST     comma-separated operations the 429/500/latency faults hit (default all):
                              ${EMULATOR_OPERATIONS.join(', ')}

Webhooks
  --webhook-url URL           POST batch.completed|failed|expired|cancelled events here
  --webhook-secret whsec_...  Standard Webhooks signing secret (required with --webhook-url)
  --webhook-repeat N          deliver each event N times (default 1)

  -h, --help                  show this help

Per-batch faults go in the batch's metadata: ${METADATA_FAULT_KEYS.join(', ')}.
A request whose body contains EMULATOR_FAIL fails; an image-moderation request
is answered "Yes. ..." when its text or image contains FLAGGED, "No. ..." otherwise.
The control endpoints GET /_emulator/ledger and GET|PATCH /_emulator/faults take the same key.
See src/emulator/README.md.
`;

export interface EmulatorCommandIO {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Stops the emulator like SIGINT does (tests). */
  signal?: AbortSignal;
  /** Called once it listens. */
  onListening?: (emulator: RunningEmulator) => void;
}

class UsageError extends Error {}

function integer(flag: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`} (got ${JSON.stringify(value)})`);
  }
  return n;
}

function decimal(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${flag} must be a number from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return n;
}

const defined = <T extends object>(object: T): Partial<T> =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;

/** Turns the command line into emulator options; throws UsageError on a bad flag. */
export function parseEmulatorArgs(argv: string[]): EmulatorOptionsInput | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        port: { type: 'string' },
        host: { type: 'string' },
        'api-key': { type: 'string' },
        'data-dir': { type: 'string' },
        'log-level': { type: 'string' },
        seed: { type: 'string' },
        'validating-ms': { type: 'string' },
        'in-progress-ms': { type: 'string' },
        'finalizing-ms': { type: 'string' },
        'cancelling-ms': { type: 'string' },
        'request-error-rate': { type: 'string' },
        'expire-at': { type: 'string' },
        'token-budget': { type: 'string', multiple: true },
        'rate-limit-every': { type: 'string' },
        'rate-limit-next': { type: 'string' },
        'retry-after': { type: 'string' },
        'server-error-every': { type: 'string' },
        'server-error-next': { type: 'string' },
        'latency-ms': { type: 'string' },
        'drop-create-responses': { type: 'string' },
        'fault-operations': { type: 'string' },
        'webhook-url': { type: 'string' },
        'webhook-secret': { type: 'string' },
        'webhook-repeat': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return 'help';

  const tokenBudgetPerModel: Record<string, number> = {};
  for (const entry of values['token-budget'] ?? []) {
    const match = /^(.+)=(\d+)$/.exec(entry);
    if (match === null || Number(match[2]) <= 0) throw new UsageError(`--token-budget must look like MODEL=TOKENS (got ${JSON.stringify(entry)})`);
    tokenBudgetPerModel[match[1] as string] = Number(match[2]);
  }
  let operations: EmulatorFaultsInput['operations'];
  if (values['fault-operations'] !== undefined) {
    const names = values['fault-operations'].split(',').map((name) => name.trim()).filter((name) => name !== '');
    const unknown = names.filter((name) => !(EMULATOR_OPERATIONS as readonly string[]).includes(name));
    if (unknown.length > 0) throw new UsageError(`--fault-operations: unknown operation ${unknown.join(', ')} (known: ${EMULATOR_OPERATIONS.join(', ')})`);
    operations = names as typeof EMULATOR_OPERATIONS[number][];
  }
  const faults: EmulatorFaultsInput = defined({
    requestErrorRate: decimal('request-error-rate', values['request-error-rate'], 0, 1),
    expireAtFraction: decimal('expire-at', values['expire-at'], 0, 1),
    tokenBudgetPerModel: Object.keys(tokenBudgetPerModel).length > 0 ? tokenBudgetPerModel : undefined,
    rateLimitEvery: integer('rate-limit-every', values['rate-limit-every'], 0),
    rateLimitNext: integer('rate-limit-next', values['rate-limit-next'], 0),
    retryAfterSeconds: decimal('retry-after', values['retry-after'], 0, 3600),
    serverErrorEvery: integer('server-error-every', values['server-error-every'], 0),
    serverErrorNext: integer('server-error-next', values['server-error-next'], 0),
    latencyMs: integer('latency-ms', values['latency-ms'], 0),
    dropCreateResponse: integer('drop-create-responses', values['drop-create-responses'], 0),
    operations,
  });

  const webhookUrl = values['webhook-url'];
  const webhookSecret = values['webhook-secret'];
  if ((webhookUrl === undefined) !== (webhookSecret === undefined)) throw new UsageError('--webhook-url and --webhook-secret go together');
  const logLevel = values['log-level'] ?? 'info';
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
  if (!(levels as readonly string[]).includes(logLevel)) throw new UsageError(`--log-level must be one of ${levels.join(', ')}`);

  return defined({
    port: integer('port', values.port, 0, 65535) ?? 4010,
    host: values.host,
    apiKey: values['api-key'],
    dataDir: values['data-dir'],
    logLevel: logLevel as (typeof levels)[number],
    seed: integer('seed', values.seed, Number.MIN_SAFE_INTEGER),
    validatingMs: integer('validating-ms', values['validating-ms'], 0),
    inProgressMs: integer('in-progress-ms', values['in-progress-ms'], 0),
    finalizingMs: integer('finalizing-ms', values['finalizing-ms'], 0),
    cancellingMs: integer('cancelling-ms', values['cancelling-ms'], 0),
    faults,
    webhook:
      webhookUrl === undefined || webhookSecret === undefined
        ? undefined
        : { url: webhookUrl, secret: webhookSecret, repeat: integer('webhook-repeat', values['webhook-repeat'], 1, 10) ?? 1 },
  });
}

/** Runs the emulator until SIGINT/SIGTERM (or io.signal); returns the exit code. */
export async function runEmulatorCommand(argv: string[], io: EmulatorCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? ((text: string) => void process.stdout.write(text));
  const stderr = io.stderr ?? ((text: string) => void process.stderr.write(text));
  let options: EmulatorOptionsInput;
  try {
    const parsed = parseEmulatorArgs(argv);
    if (parsed === 'help') {
      stdout(EMULATOR_HELP);
      return 0;
    }
    options = parseEmulatorOptions(parsed);
  } catch (error) {
    const message =
      error instanceof ZodError
        ? error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('\n')
        : error instanceof Error
          ? error.message
          : String(error);
    stderr(`batchline emulator: ${message}\nRun "batchline emulator --help" for the options.\n`);
    return 2;
  }

  let emulator: RunningEmulator;
  try {
    emulator = await startEmulator(options);
  } catch (error) {
    // Exit code 2 with one line, as the service does for a port it cannot take.
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 4010;
    const refusal = listenFailure(error, host, port, { port: '--port', host: '--host', style: 'flag' });
    stderr(`batchline emulator: ${refusal?.message ?? `cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`}\n`);
    return 2;
  }
  stdout(
    `batchline emulator listening on ${emulator.baseURL} (API key: ${emulator.apiKey}; data in ${emulator.app.emulator.dataDir})\n` +
      `Use it with OPENAI_BASE_URL=${emulator.baseURL} OPENAI_API_KEY=${emulator.apiKey}. Ctrl-C stops it.\n`,
  );
  io.onListening?.(emulator);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (io.signal?.aborted === true) stop();
    else io.signal?.addEventListener('abort', stop, { once: true });
  });
  await emulator.close();
  stdout('batchline emulator stopped\n');
  return 0;
}
