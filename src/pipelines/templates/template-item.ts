import type { LentRead } from '../../lib/read-bounded.js';

/**
 * An item as templates see it: a plain JSON object, either POSTed by a user
 * (`{ id, text }`, `{ image_url }`…) or produced by a source listing
 * (`{ key, version, size }`, whose bytes are read through `readObject`).
 */
export type TemplateItem = Readonly<Record<string, unknown>>;

/**
 * Reads a source object's bytes, whole, unless there are more than maxBytes
 * of them, and hands them to `use` for the call only (ItemSource.read);
 * rejects when the object cannot be read. What templates read items through:
 * a source can read an object in fewer steps than a stream takes.
 */
export type ReadObject = <T>(key: string, maxBytes: number, use: (bytes: Buffer) => T) => Promise<LentRead<T>>;

/** A source item names a stored object; everything else is a POSTed item. */
export const sourceKeyOf = (item: TemplateItem): string | null =>
  typeof item.key === 'string' && item.key !== '' ? item.key : null;

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
