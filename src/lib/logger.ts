import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Secrets never reach a log line: the paths below are redacted wherever
 * they appear (request headers, config dumps, error objects carrying them).
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["webhook-signature"]',
  'headers.authorization',
  'config.OPENAI_API_KEY',
  'config.OPENAI_WEBHOOK_SECRET',
  'config.SLACK_WEBHOOK_URL',
  'config.API_TOKENS',
  'slack_webhook_url',
  '*.slack_webhook_url',
  'apiKey',
];

export function createLogger(level: string, options: { pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const base: LoggerOptions = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (options.destination !== undefined) return pino(base, options.destination);
  // Pretty output for a person at a terminal; JSON lines for everything else.
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pretty ? pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } }) : pino(base);
}
