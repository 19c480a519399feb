import { createHash, randomBytes } from 'node:crypto';

/**
 * Identifiers shaped like OpenAI's. Object ids are random (two emulator runs
 * must never hand out the same batch id to a service that keeps its state in
 * Redis); ids inside generated results are derived, so results are stable.
 */
const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function alphanumeric(bytes: Buffer, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[(bytes[i % bytes.length] as number) % ALPHANUMERIC.length];
  return out;
}

export const newFileId = (): string => `file-${alphanumeric(randomBytes(22), 22)}`;
export const newBatchId = (): string => `batch_${randomBytes(16).toString('hex')}`;
export const newRequestId = (): string => `req_${randomBytes(16).toString('hex')}`;
export const newEventId = (): string => `evt_${randomBytes(16).toString('hex')}`;
export const newWebhookMessageId = (): string => `wh_${randomBytes(16).toString('hex')}`;

/** A stable id: the same parts always give the same id. */
export function derivedId(prefix: string, ...parts: ReadonlyArray<string | number>): string {
  const digest = createHash('sha256').update([prefix, ...parts].join('\u0000')).digest();
  return `${prefix}${alphanumeric(digest, 24)}`;
}

/** A stable lower-case hex id (request ids inside result lines). */
export function derivedHexId(prefix: string, ...parts: ReadonlyArray<string | number>): string {
  return `${prefix}${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}
