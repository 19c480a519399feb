import type { ImageModerationTemplate } from './template-definition.js';
import { itemFailure, itemOk, type ItemOutcome } from './item-error.js';
import { inlineDataUrlOf, type InlineDataUrl } from './inline-data-url.js';
import { readItemObject } from './read-item-object.js';
import { sniffImageType } from './sniff-image-type.js';
import { sourceKeyOf, type ReadObject, type TemplateItem } from './template-item.js';

/** An image URL for a request: one built here from the image's bytes (`inline`, its parts), or an http(s) URL passed through (`inline` null). */
export interface ImageUrl {
  url: string;
  inline: InlineDataUrl | null;
}

/**
 * The `image_url.url` to send for an item of an image-moderation run.
 *
 * Item shapes, first match wins:
 * - `{ image_base64: "<base64>" }` (a full `data:` URL is accepted too):
 *   decoded, size-checked and sniffed like a stored object.
 * - `{ image_url: "data:…;base64,…" }`: the same.
 * - `{ image_url: "https://…" }` (or `http://`): passed through unchanged;
 *   OpenAI fetches it. The service does not download user-given URLs (that
 *   would let any API caller make the worker fetch arbitrary addresses), so
 *   such an image is neither size-checked nor sniffed here.
 * - a source item `{ key, version, size }`: the object is read through
 *   `readObject`, stopping as soon as `max_image_bytes` is passed.
 * The data URL always carries the sniffed type, never a declared one.
 */
export const imageUrlForItem = async (
  template: ImageModerationTemplate,
  item: TemplateItem,
  readObject: ReadObject | undefined,
): Promise<ItemOutcome<ImageUrl>> => {
  if (typeof item.image_base64 === 'string') return dataUrlFromBase64(stripDataUrl(item.image_base64), 'image_base64', template.max_image_bytes);
  if (typeof item.image_url === 'string') {
    const url = item.image_url;
    if (url.startsWith('data:')) return dataUrlFromBase64(stripDataUrl(url), 'image_url', template.max_image_bytes);
    if (/^https?:\/\/[^\s]+$/i.test(url)) return itemOk({ url, inline: null });
    return itemFailure('invalid_item', 'image_url must be an http(s) URL or a base64 data: URL');
  }
  const key = sourceKeyOf(item);
  if (key === null) return itemFailure('missing_field', 'the item has no "key", "image_url" or "image_base64"');
  return readItemObject(item, key, readObject, template.max_image_bytes, 'image_too_large', (bytes) => dataUrlOf(bytes, key));
};

type Base64Payload = { ok: true; base64: string } | { ok: false; message: string };

/** The base64 part of a `data:` URL, or the string itself when it is bare base64. */
const stripDataUrl = (value: string): Base64Payload => {
  if (!value.startsWith('data:')) return { ok: true, base64: value };
  const comma = value.indexOf(',');
  if (comma < 0 || !/;base64$/i.test(value.slice(0, comma))) return { ok: false, message: 'a data: URL must be base64 (data:<type>;base64,…)' };
  return { ok: true, base64: value.slice(comma + 1) };
};

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

const dataUrlFromBase64 = (payload: Base64Payload, field: string, maxBytes: number): ItemOutcome<ImageUrl> => {
  if (!payload.ok) return itemFailure('invalid_item', `${field}: ${payload.message}`);
  const base64 = payload.base64.replace(/\s+/g, '');
  if (base64 === '') return itemFailure('empty_item', `${field} is empty`);
  // Buffer's decoder skips characters it does not know; garbage must not pass as an image.
  if (!BASE64.test(base64)) return itemFailure('invalid_item', `${field} is not valid base64`);
  // Checked before decoding, so an oversized payload is never copied again.
  const decodedBytes = Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);
  if (decodedBytes > maxBytes) return itemFailure('image_too_large', `${field} is ${decodedBytes} bytes, over the limit of ${maxBytes} bytes`);
  return dataUrlOf(Buffer.from(base64, 'base64'), field);
};

const dataUrlOf = (bytes: Buffer, what: string): ItemOutcome<ImageUrl> => {
  if (bytes.length === 0) return itemFailure('not_an_image', `${what} is empty, not an image`);
  const type = sniffImageType(bytes);
  if (type === null) return itemFailure('not_an_image', `${what} is not a png, jpeg, gif or webp image`);
  const inline = inlineDataUrlOf(type, bytes);
  return itemOk({ url: inline.url, inline });
};
