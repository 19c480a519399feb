import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/lib/logger.js';

export interface CapturedLogs {
  logger: Logger;
  /** Every JSON line written so far, raw. */
  lines: string[];
  /** Parsed records whose msg includes the text. */
  find(text: string): Array<Record<string, unknown>>;
  /** Resolves with the first record (already written or still to come) whose msg includes the text. */
  waitFor(text: string): Promise<Record<string, unknown>>;
}

/** A real pino logger (same redaction as production) writing into memory. */
export function captureLogs(level = 'debug'): CapturedLogs {
  const lines: string[] = [];
  const written = new EventEmitter();
  let partial = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line === '') continue;
        lines.push(line);
        written.emit('line', line);
      }
      callback();
    },
  });
  const matches = (text: string, line: string): Record<string, unknown> | null => {
    const record = JSON.parse(line) as Record<string, unknown>;
    return typeof record['msg'] === 'string' && record['msg'].includes(text) ? record : null;
  };
  return {
    logger: createLogger(level, { destination }),
    lines,
    find: (text) => lines.map((line) => matches(text, line)).filter((record): record is Record<string, unknown> => record !== null),
    waitFor: (text) =>
      new Promise((resolve) => {
        for (const line of lines) {
          const record = matches(text, line);
          if (record !== null) return resolve(record);
        }
        const listener = (line: string) => {
          const record = matches(text, line);
          if (record === null) return;
          written.off('line', listener);
          resolve(record);
        };
        written.on('line', listener);
      }),
  };
}
