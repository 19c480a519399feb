import { ConfigError } from './config.js';

/** How the refused setting is named to the user: an environment variable (PORT=3000) or a flag (--port 4010). */
export interface ListenSettings {
  port: string;
  host: string;
  style: 'variable' | 'flag';
}

/** The service's settings: PORT and HOST in the environment. */
const SERVICE_LISTEN_SETTINGS: ListenSettings = { port: 'PORT', host: 'HOST', style: 'variable' };

/**
 * Why a server could not listen, as a configuration error naming the port or
 * host setting (the process stops with one line and exit code 2, as for any
 * bad setting, rather than a stack trace); null when the failure is not about
 * either.
 */
export function listenFailure(error: unknown, host: string, port: number, settings: ListenSettings = SERVICE_LISTEN_SETTINGS): ConfigError | null {
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const named = (setting: string, value: string | number): string => (settings.style === 'variable' ? `${setting}=${value}` : `${setting} ${value}`);
  const portSet = named(settings.port, port);
  const hostSet = named(settings.host, host);
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(`${portSet}: ${where} is already in use by another process (stop it, or set another ${settings.port})`);
    case 'EACCES':
      return new ConfigError(`${portSet}: not allowed to listen on ${where} (ports below 1024 need privileges; set another ${settings.port})`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`${hostSet}: not an address of this machine, cannot listen on ${where} (0.0.0.0 listens on every address)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new ConfigError(`${hostSet}: host name not found (${error instanceof Error ? error.message : code})`);
    default:
      return null;
  }
}
