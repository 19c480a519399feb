/**
 * The API in a process of its own for the benchmarks (startService with role
 * 'api', configured by the environment). Prints "url <url>" then "ready".
 */
import { loadConfig } from '../../src/config.js';
import { startService } from '../../src/server.js';

const service = await startService({ role: 'api', config: loadConfig() });
process.stdout.write(`url ${service.url ?? ''}\nready\n`);
process.once('SIGTERM', () => {
  void service.stop().then(() => process.exit(0));
});
