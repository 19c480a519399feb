import { ConfigError } from './config.js';

/**
 * Why the API could not listen, as a configuration error naming PORT or HOST
 * (the process stops with one line, as for any bad setting, rather than a
 * stack trace); null when the failure is not about either.
 */
export function listenFailure(error: unknown, host: string, port: number): ConfigError | null {
  const code = error instanceof Error && 'code' in error ? String(error.code) : '';
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(`PORT=${port}: ${where} is already in use by another process (stop it, or set another PORT)`);
    case 'EACCES':
      return new ConfigError(`PORT=${port}: not allowed to listen on ${where} (ports below 1024 need privileges; set another PORT)`);
    case 'EADDRNOTAVAIL':
      return new ConfigError(`HOST=${host}: not an address of this machine, cannot listen on ${where} (0.0.0.0 listens on every address)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new ConfigError(`HOST=${host}: host name not found (${error instanceof Error ? error.message : code})`);
    default:
      return null;
  }
}
