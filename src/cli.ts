import { ConfigError } from './config.js';
import { RedisRequirementError } from './queues/redis-requirements.js';
import { startService, type Role } from './server.js';

const USAGE = `Usage: batchline <command> [options]

Commands:
  all        API server and every worker in one process (npm start)
  api        the HTTP API only
  worker     the workers only (run any number, on any machine, against one Redis)
  emulator   the local OpenAI Files + Batches emulator (see batchline emulator --help)
  demo       the whole pipeline on embedded defaults; exits 0 when the sample runs succeed

Configuration is read from the environment (REDIS_URL, OPENAI_API_KEY, STORAGE_URL, …; see the README).`;

/** The `batchline` command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'all':
    case 'api':
    case 'worker':
      return serve(command);
    case 'emulator': {
      const { runEmulatorCommand } = await import('./emulator/emulator-command.js');
      return runEmulatorCommand(rest);
    }
    case 'demo': {
      const { runDemo } = await import('./demo/run-demo.js');
      return runDemo(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`batchline: unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

async function serve(role: Role): Promise<number> {
  let service;
  try {
    service = await startService({ role });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RedisRequirementError) {
      process.stderr.write(`batchline: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const running = service;
  // SIGTERM (docker stop) and SIGINT (Ctrl-C) shut down gracefully; a second signal forces the exit.
  const code = await new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) process.exit(130);
      signalled = true;
      running.deps.logger.info({ signal }, 'shutting down');
      void running.stop().then(
        () => {
          running.deps.logger.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          running.deps.logger.error({ err: String(error) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  // A job handed back at shutdown may still hold the event loop (an upload cut short); its outcome no longer counts.
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}
