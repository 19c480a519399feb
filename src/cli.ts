import { parseArgs } from 'node:util';
import { ConfigError } from './config.js';
import { packageVersion } from './package-version.js';
import { shutdownOnSignals, SignalsHeldDuringStart } from './shutdown-signals.js';
import { RedisRequirementError } from './queues/redis-requirements.js';
import { startService, type Role } from './server.js';

const USAGE = `Usage: batchline <command> [options]

Commands:
  all        API server and every worker in one process (npm start)
  api        the HTTP API only
  worker     the workers only (run any number, on any machine, against one Redis)
  emulator   the local OpenAI Files + Batches emulator (see batchline emulator --help)
  demo       the whole pipeline on embedded defaults; exits 0 when the sample runs succeed

Options:
  -h, --help     show this help
  -v, --version  print the version

Configuration is read from the environment (REDIS_URL, OPENAI_API_KEY, STORAGE_URL, HOST, PORT, …; see the README).`;

/** Exit code of a refused command line or configuration: the process never started its work. */
const USAGE_EXIT = 2;

/**
 * After the grace period for running jobs, the time a stop has to hand the
 * rest back and close its connections (normally well under a second).
 */
export const CLOSE_ALLOWANCE_MS = 10_000;

/** Every command's options but the emulator's, which parses its own. */
const OPTIONS = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } as const;

const ROLES: readonly string[] = ['all', 'api', 'worker'] satisfies Role[];
const isRole = (name: string): name is Role => ROLES.includes(name);

/** The `batchline` command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'emulator') {
    const { runEmulatorCommand } = await import('./emulator/emulator-command.js');
    return runEmulatorCommand(rest);
  }
  if (command === undefined) return refuse('no command given');
  if (command === 'help') return printUsage();
  const optionsOnly = command.startsWith('-');
  if (!optionsOnly && !isRole(command) && command !== 'demo') return refuse(`unknown command "${command}"`);
  // Settings come from the environment only: an option such as --port is refused rather than
  // ignored, so a server never starts quietly on a port the caller did not mean.
  let values;
  try {
    ({ values } = parseArgs({ args: optionsOnly ? argv : rest, options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs's own messages name the argument: "Unknown option '--port'", "Unexpected argument 'x'. …".
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS_')) {
      return refuse(optionsOnly ? error.message : `${command}: ${error.message}`);
    }
    throw error;
  }
  if (values.version === true) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (isRole(command)) return values.help === true ? printUsage() : serve(command);
  if (optionsOnly) return printUsage();
  const { runDemo } = await import('./demo/run-demo.js');
  return runDemo(values.help === true ? ['--help'] : []);
}

function refuse(reason: string): number {
  process.stderr.write(`batchline: ${reason}\n\n${USAGE}\n`);
  return USAGE_EXIT;
}

function printUsage(): number {
  process.stdout.write(`${USAGE}\n`);
  return 0;
}

async function serve(role: Role): Promise<number> {
  // Listening before anything starts: a SIGTERM with no listener would kill the process outright.
  const signals = new SignalsHeldDuringStart();
  let service;
  try {
    service = await startService({ role });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RedisRequirementError) {
      process.stderr.write(`batchline: ${error.message}\n`);
      return USAGE_EXIT;
    }
    throw error;
  }
  const running = service;
  const bound = { afterMs: running.deps.config.BATCHLINE_SHUTDOWN_GRACE_MS + CLOSE_ALLOWANCE_MS, force: () => running.forceStop() };
  const code = await shutdownOnSignals(() => running.stop(), running.deps.logger, signals, undefined, bound);
  // A job handed back at shutdown may still hold the event loop (an upload cut short); its outcome no longer counts.
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}
