import type { ImageType } from './sniff-image-type.js';

/**
 * A `data:<type>;base64,<base64>` URL this service built from an image's
 * bytes (never one passed through from an item). Made only by
 * `inlineDataUrlOf`, so it is plain ASCII that JSON never escapes and that the
 * token estimate's data-URL pattern matches whole: a request line can copy its
 * ~70 KB in as they are and count it as one image, without scanning it.
 *
 * It keeps its two parts beside the whole. `url`, the string the request body
 * carries, is the parts joined by reference (V8 concatenates long strings
 * without copying them), and the request line writes the parts one after the
 * other: writing `url` itself would first copy the base64 into a joined
 * string, a second ~70 KB of garbage per image on top of the base64's own.
 */
export interface InlineDataUrl {
  /** The whole URL, as the request body carries it. */
  readonly url: string;
  /** `data:<type>;base64,` */
  readonly head: string;
  readonly base64: string;
}

export function inlineDataUrlOf(type: ImageType, bytes: Buffer): InlineDataUrl {
  const head = `data:${type};base64,`;
  const base64 = bytes.toString('base64');
  return { url: head + base64, head, base64 };
}
