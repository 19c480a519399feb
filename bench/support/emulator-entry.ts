/**
 * The emulator in a process of its own, so a benchmark's floor and the
 * service under test share it on equal terms (neither pays for serving it
 * on its own thread). BENCH_EMULATOR_OPTIONS: JSON options for startEmulator.
 * Prints "url <baseURL>" then "ready".
 */
import { startEmulator } from '../../src/emulator/start-emulator.js';
import type { EmulatorOptionsInput } from '../../src/emulator/emulator-options.js';

const options = JSON.parse(process.env['BENCH_EMULATOR_OPTIONS'] ?? '{}') as EmulatorOptionsInput;
const emulator = await startEmulator({ logLevel: 'silent', ...options });
process.stdout.write(`url ${emulator.baseURL}\nready\n`);
process.once('SIGTERM', () => {
  void emulator.close().then(() => process.exit(0));
});
