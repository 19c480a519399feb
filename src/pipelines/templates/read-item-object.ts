import { itemFailure, type ItemErrorCode, type ItemOutcome } from './item-error.js';
import type { ReadObject, TemplateItem } from './template-item.js';

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * What `use` makes of a source item's bytes, at most maxBytes of them; the
 * bytes are lent for the call only (ItemSource.read). Every way this can go
 * wrong (no reader, the object gone, a broken stream, too big) is an item
 * error, so the caller can record it against the item and carry on with the run.
 */
export const readItemObject = async <T>(
  item: TemplateItem,
  key: string,
  readObject: ReadObject | undefined,
  maxBytes: number,
  tooLargeCode: Extract<ItemErrorCode, 'image_too_large' | 'item_too_large'>,
  use: (bytes: Buffer) => ItemOutcome<T>,
): Promise<ItemOutcome<T>> => {
  // The listing's size lets an oversized object be refused without opening it.
  if (typeof item.size === 'number' && item.size > maxBytes) {
    return itemFailure(tooLargeCode, `${key} is ${item.size} bytes, over the limit of ${maxBytes} bytes`);
  }
  if (readObject === undefined) return itemFailure('unreadable_item', `${key}: this run has no way to read source objects`);
  try {
    const read = await readObject(key, maxBytes, use);
    return read.ok ? read.value : itemFailure(tooLargeCode, `${key} is over the limit of ${maxBytes} bytes`);
  } catch (error) {
    return itemFailure('unreadable_item', `${key} could not be read: ${describe(error)}`);
  }
};
