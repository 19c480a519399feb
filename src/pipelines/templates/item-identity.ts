import { createHash } from 'node:crypto';
import { lookupPath } from './render-placeholders.js';
import type { TemplateDefinition } from './template-definition.js';
import { sourceKeyOf, type TemplateItem } from './template-item.js';

const CUSTOM_ID_MAX = 64;
/** 80 bits of sha256: a collision among even millions of distinct keys is not a practical event. */
const HASH_HEX_CHARS = 20;
const SLUG_MAX = CUSTOM_ID_MAX - HASH_HEX_CHARS - 1;
/** A result line keeps an item field only when its JSON is at most this long (see itemRefOf). */
export const ITEM_REF_MAX_FIELD_CHARS = 200;

/** The item field that names a POSTed item: summarize's `id_field`, else `id`. */
const idFieldsOf = (template: TemplateDefinition | undefined): string[] =>
  template?.type === 'summarize' && template.id_field !== 'id' ? [template.id_field, 'id'] : ['id'];

const scalarId = (item: TemplateItem, path: string): string | number | null => {
  const found = lookupPath(item, path);
  if (!found.found) return null;
  if (typeof found.value === 'string' && found.value !== '') return found.value;
  if (typeof found.value === 'number' && Number.isFinite(found.value)) return found.value;
  return null;
};

/**
 * The readable part of a source item's custom id: the key's characters
 * outside `[A-Za-z0-9_-]` turned into `-`, keeping the end of the key (the
 * file name) when it is too long.
 */
const slugOf = (key: string): string => {
  const slug = key.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  const tail = slug.slice(-SLUG_MAX).replace(/^-+/, '');
  return tail === '' ? 'object' : tail;
};

/**
 * The request's custom_id, the same for the same item in every run so a
 * re-run (or a result line) is recognisable:
 * - a POSTed item's own `custom_id`, as given;
 * - a source item: `<slug of key>-<sha256(key, version) hex prefix>`, at most
 *   64 characters of `[A-Za-z0-9_-]`. The hash covers the whole key, so two
 *   distinct keys (or two versions of one key) never share an id even when
 *   their slugs do (`a/b.png` and `a-b.png`);
 * - a POSTed item's id (summarize's `id_field`, else `id`), as given;
 * - else `item-<index>`, the item's position in the POST.
 * Uniqueness across a run's items (two POSTed items with one id) is the caller's check.
 */
export const customIdFor = (item: TemplateItem, index: number, template?: TemplateDefinition): string => {
  if (typeof item.custom_id === 'string' && item.custom_id !== '') return item.custom_id;
  const key = sourceKeyOf(item);
  if (key !== null) {
    const version = typeof item.version === 'string' || typeof item.version === 'number' ? item.version : null;
    // JSON of the pair, so ("a", "b/c") and ("a/b", "c") hash differently.
    const hash = createHash('sha256').update(JSON.stringify([key, version])).digest('hex').slice(0, HASH_HEX_CHARS);
    return `${slugOf(key)}-${hash}`;
  }
  for (const path of idFieldsOf(template)) {
    const id = scalarId(item, path);
    if (id !== null) return String(id);
  }
  return `item-${index}`;
};

/**
 * The part of an item a result line keeps, so results can be joined back to
 * items without repeating their content:
 * - a source item: `{ key }`;
 * - a POSTed item with an id (summarize's `id_field`, else `id`): `{ <that field>: id }`;
 * - any other item: its top-level fields whose JSON is at most
 *   ITEM_REF_MAX_FIELD_CHARS characters (article text, big nested objects
 *   and image payloads are left out; `image_base64` and `data:` image URLs
 *   always are). This may be `{}`; the line's custom_id still identifies it.
 */
export const itemRefOf = (item: TemplateItem, template?: TemplateDefinition): Record<string, unknown> => {
  const key = sourceKeyOf(item);
  if (key !== null) return { key };
  for (const path of idFieldsOf(template)) {
    const id = scalarId(item, path);
    if (id !== null) return { [path]: id };
  }
  const ref: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (name === 'image_base64' || (name === 'image_url' && typeof value === 'string' && value.startsWith('data:'))) continue;
    const json = JSON.stringify(value) as string | undefined;
    if (json !== undefined && json.length <= ITEM_REF_MAX_FIELD_CHARS) ref[name] = value;
  }
  return ref;
};
