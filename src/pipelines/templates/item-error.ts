/**
 * Why one item could not become a request. Item-level problems are values,
 * never throws: one bad item in a run of thousands must cost that item only,
 * and the caller writes it to the run's error lines with this code.
 */
export type ItemErrorCode =
  /** A placeholder, the article field or the image reference is absent or null. */
  | 'missing_field'
  /** The field or object is present but holds nothing to send (blank text). */
  | 'empty_item'
  /** The image is larger than the template's `max_image_bytes`. */
  | 'image_too_large'
  /** The bytes are not png, jpeg, gif or webp, whatever the name says. */
  | 'not_an_image'
  /** A text object (article) is larger than the service reads for one request. */
  | 'item_too_large'
  /** The object could not be opened or read (gone, permissions, network). */
  | 'unreadable_item'
  /** The object's kind is not one this template reads (e.g. an article ending in `.pdf`). */
  | 'unsupported_item'
  /** The item is malformed: invalid JSON, invalid base64, text that is not UTF-8. */
  | 'invalid_item';

export interface ItemError {
  code: ItemErrorCode;
  message: string;
}

export type ItemOutcome<T> = { ok: true; value: T } | { ok: false; error: ItemError };

export const itemOk = <T>(value: T): ItemOutcome<T> => ({ ok: true, value });

export const itemFailure = (code: ItemErrorCode, message: string): { ok: false; error: ItemError } => ({
  ok: false,
  error: { code, message },
});
