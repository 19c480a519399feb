import { extname } from 'node:path';
import { itemFailure, itemOk, type ItemOutcome } from './item-error.js';
import { ownIdOf } from './item-identity.js';
import { readItemObject } from './read-item-object.js';
import { lookupPath } from './render-placeholders.js';
import type { SummarizeTemplate } from './template-definition.js';
import { isPlainObject, sourceKeyOf, type ReadObject, type TemplateItem } from './template-item.js';

/**
 * The most of a stored article read for one request. 1 MiB of text is far
 * past any chat model's context window, so a larger object can only fail at
 * the API; stopping here also keeps one odd object from filling a worker's memory.
 */
export const MAX_ARTICLE_BYTES = 1024 * 1024;

const TEXT_EXTENSIONS = new Set(['.txt', '.text', '.md', '.markdown']);
/** Where a stored `.json` article may keep its text when the template's field is absent. */
const JSON_FALLBACK_FIELDS = ['content', 'body'] as const;

/** An article's text, and the id a stored `.json` article gives itself (its `id_field`, else `id`), for its result line. */
export interface Article {
  text: string;
  storedId: string | number | null;
}

/**
 * The article a summarize request is about.
 * - A POSTed item: the template's `field` (default `text`, dotted paths allowed).
 * - A source item (`{ key }`) without that field: the object's bytes, `.txt` /
 *   `.md` as UTF-8 text, `.json` as an object whose `field`, else `content`,
 *   else `body` holds the text. Other extensions are `unsupported_item`.
 */
export const articleTextForItem = async (
  template: SummarizeTemplate,
  item: TemplateItem,
  readObject: ReadObject | undefined,
): Promise<ItemOutcome<Article>> => {
  const posted = lookupPath(item, template.field);
  if (posted.found && posted.value !== null) return articleOf(asText(posted.value, `the item's "${template.field}"`), null);

  const key = sourceKeyOf(item);
  if (key === null) return itemFailure('missing_field', `the item has no "${template.field}" field (and no "key" of a stored article)`);
  const extension = extname(key).toLowerCase();
  const isJson = extension === '.json';
  if (!isJson && !TEXT_EXTENSIONS.has(extension)) {
    return itemFailure('unsupported_item', `${key}: only .txt, .md and .json articles can be summarized`);
  }

  const text = await readItemObject(item, key, readObject, MAX_ARTICLE_BYTES, 'item_too_large', (bytes) => decodeUtf8(bytes, key));
  if (!text.ok || !isJson) return text.ok ? articleOf(asText(text.value, key), null) : text;

  let parsed: unknown;
  try {
    parsed = JSON.parse(text.value);
  } catch (error) {
    return itemFailure('invalid_item', `${key} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isPlainObject(parsed)) return itemFailure('invalid_item', `${key} must hold a JSON object`);
  for (const field of [template.field, ...JSON_FALLBACK_FIELDS]) {
    const found = lookupPath(parsed, field);
    if (found.found && found.value !== null) return articleOf(asText(found.value, `${key}'s "${field}"`), ownIdOf(parsed, template));
  }
  return itemFailure('missing_field', `${key} has no "${template.field}", "content" or "body" field`);
};

const articleOf = (text: ItemOutcome<string>, storedId: string | number | null): ItemOutcome<Article> =>
  text.ok ? itemOk({ text: text.value, storedId }) : text;

const asText = (value: unknown, what: string): ItemOutcome<string> => {
  if (typeof value !== 'string') return itemFailure('invalid_item', `${what} is ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}, not text`);
  // A blank article would still be a paid request, answered with a made-up summary.
  if (value.trim() === '') return itemFailure('empty_item', `${what} is empty`);
  return itemOk(value);
};

const decodeUtf8 = (bytes: Buffer, key: string): ItemOutcome<string> => {
  try {
    // fatal: a Latin-1 or binary file must not reach the model as replacement characters.
    return itemOk(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return itemFailure('invalid_item', `${key} is not UTF-8 text`);
  }
};
