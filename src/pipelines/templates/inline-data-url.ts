import type { ImageType } from './sniff-image-type.js';

declare const inlineDataUrlBrand: unique symbol;

/**
 * A `data:<type>;base64,<base64>` URL this service built from an image's
 * bytes (never one passed through from an item). Made only by
 * `inlineDataUrlOf`, so it is plain ASCII that JSON never escapes and that the
 * token estimate's data-URL pattern matches whole: a request line can copy its
 * ~70 KB in as they are and count it as one image, without scanning it.
 */
export type InlineDataUrl = string & { readonly [inlineDataUrlBrand]: true };

export const inlineDataUrlOf = (type: ImageType, bytes: Buffer): InlineDataUrl =>
  `data:${type};base64,${bytes.toString('base64')}` as InlineDataUrl;
