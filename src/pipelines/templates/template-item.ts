import type { ItemSource } from '../sources/item-source.js';

/**
 * An item as templates see it: a plain JSON object, either POSTed by a user
 * (`{ id, text }`, `{ image_url }`…) or produced by a source listing
 * (`{ key, version, size }`, whose bytes are read through `readObject`).
 */
export type TemplateItem = Readonly<Record<string, unknown>>;

/**
 * What templates read source items through: the run's source's own read
 * (ItemSource.read, bytes lent to `use` for the call only), so a source can
 * read an object in fewer steps than a stream takes.
 */
export type ReadObject = ItemSource['read'];

/** A source item names a stored object; everything else is a POSTed item. */
export const sourceKeyOf = (item: TemplateItem): string | null =>
  typeof item.key === 'string' && item.key !== '' ? item.key : null;

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
