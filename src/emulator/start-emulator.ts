import type { AddressInfo } from 'node:net';
import { buildEmulatorApp, type EmulatorApp } from './emulator-app.js';
import type { EmulatorLedger } from './emulator-ledger.js';
import type { EmulatorFaults, EmulatorOptions, EmulatorOptionsInput } from './emulator-options.js';

export interface RunningEmulator {
  /** What to give the SDK as baseURL, e.g. http://127.0.0.1:PORT/v1 */
  baseURL: string;
  host: string;
  port: number;
  apiKey: string;
  ledger: EmulatorLedger;
  /** Live: change a field and the next request sees it. */
  faults: EmulatorFaults;
  options: EmulatorOptions;
  app: EmulatorApp;
  /** Stops listening, waits for work under way, removes a temporary data folder. */
  close(): Promise<void>;
}

/** Builds the emulator and listens (port 0 by default: any free port on loopback). */
export async function startEmulator(options: EmulatorOptionsInput = {}): Promise<RunningEmulator> {
  const app = buildEmulatorApp(options);
  const { host, port, apiKey } = app.emulator.options;
  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | null = null;
  return {
    baseURL: `http://${urlHost}:${address.port}/v1`,
    host,
    port: address.port,
    apiKey,
    ledger: app.emulator.ledger,
    faults: app.emulator.faults,
    options: app.emulator.options,
    app,
    close: () => (closing ??= app.close()),
  };
}
