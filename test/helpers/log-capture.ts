import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/lib/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every JSON line written so far, raw. */
  lines: string[];
  /** Parsed records whose msg includes the text. */
  find(text: string): Array<Record<string, unknown>>;
}

/** A real pino logger (same redaction as production) writing into memory. */
export function captureLogs(level = 'debug'): CapturedLogs {
  const lines: string[] = [];
  let partial = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((line) => line !== ''));
      callback();
    },
  });
  return {
    logger: createLogger(level, { destination }),
    lines,
    find: (text) =>
      lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => typeof record['msg'] === 'string' && record['msg'].includes(text)),
  };
}
