import { z } from 'zod';
import { QUEUE_NAMES, type QueueName } from './queue-names.js';

const isQueueName = (value: string): value is QueueName => (QUEUE_NAMES as readonly string[]).includes(value);
const queueList = QUEUE_NAMES.join(', ');

const entries = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

/**
 * BATCHLINE_CONCURRENCY: `stage=N` pairs (`build=1,submit=8,poll=100`), how
 * many jobs of that stage one worker process runs at once; stages not named
 * keep their defaults. Unset or blank: every default.
 */
export const concurrencySetting = z
  .string()
  .optional()
  .transform((value, context): Partial<Record<QueueName, number>> => {
    const concurrency: Partial<Record<QueueName, number>> = {};
    for (const entry of entries(value)) {
      const match = /^([a-z]+)\s*=\s*([0-9]+)$/.exec(entry);
      const name = match?.[1] ?? '';
      const count = Number(match?.[2]);
      if (match === null || !isQueueName(name)) {
        context.addIssue({ code: 'custom', message: `"${entry}" is not stage=N with a stage among ${queueList}` });
      } else if (!Number.isSafeInteger(count) || count < 1) {
        context.addIssue({ code: 'custom', message: `"${entry}": a stage's concurrency is a whole number of at least 1` });
      } else if (concurrency[name] !== undefined) {
        context.addIssue({ code: 'custom', message: `"${name}" is given twice` });
      } else concurrency[name] = count;
    }
    return concurrency;
  });

/**
 * BATCHLINE_QUEUES: the stages this worker process runs (`poll,results`),
 * so a deployment can give a stage processes of its own; unset or blank:
 * every stage.
 */
export const queuesSetting = z
  .string()
  .optional()
  .transform((value, context): QueueName[] | undefined => {
    const names = entries(value);
    if (names.length === 0) return undefined;
    const unknown = names.filter((name) => !isQueueName(name));
    if (unknown.length > 0) context.addIssue({ code: 'custom', message: `unknown stage ${unknown.map((name) => `"${name}"`).join(', ')}; stages are ${queueList}` });
    return [...new Set(names.filter(isQueueName))];
  });
