import { createHash } from 'node:crypto';
import { lookupPath } from './render-placeholders.js';
import type { TemplateDefinition } from './template-definition.js';
import { sourceKeyOf, type TemplateItem } from './template-item.js';

const CUSTOM_ID_MAX = 64;
/** 80 bits of sha256: a collision among even millions of distinct keys is not a practical event. */
const HASH_HEX_CHARS = 20;
const SLUG_MAX = CUSTOM_ID_MAX - HASH_HEX_CHARS - 1;
/** A POSTed item's own custom_id: at most what a request line's custom_id may be. */
const ITEM_CUSTOM_ID_MAX = 512;

/** The item field that names a POSTed item: summarize's `id_field`, else `id`. */
const idFieldsOf = (template: TemplateDefinition | undefined): string[] =>
  template?.type === 'summarize' && template.id_field !== 'id' ? [template.id_field, 'id'] : ['id'];

/** A usable id: a non-empty string or a finite number. */
const isItemId = (value: unknown): value is string | number =>
  (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value));

/**
 * An object's own id (a POSTed item, or a stored `.json` article): the
 * first of the id fields it has, when that is a usable id. Whether a POSTed
 * item's id is usable was checked when its run was accepted (badItemId).
 */
export const ownIdOf = (object: Readonly<Record<string, unknown>>, template?: TemplateDefinition): string | number | null => {
  for (const path of idFieldsOf(template)) {
    const found = lookupPath(object, path);
    if (found.found) return isItemId(found.value) ? found.value : null;
  }
  return null;
};

/**
 * Why a POSTed item's identity is unusable, as the field and what is wrong
 * with it, or null. An id field that is present must be a usable id (an
 * object, `true` or `""` silently falling back to a generated id would name
 * the item other than its sender did), and so must `custom_id`.
 */
export const badItemId = (item: TemplateItem, template?: TemplateDefinition): { field: string; problem: string } | null => {
  if ('custom_id' in item && !(typeof item.custom_id === 'string' && item.custom_id !== '' && item.custom_id.length <= ITEM_CUSTOM_ID_MAX)) {
    return { field: 'custom_id', problem: `must be a non-empty string of at most ${ITEM_CUSTOM_ID_MAX} characters, not ${describeValue(item.custom_id)}` };
  }
  for (const path of idFieldsOf(template)) {
    const found = lookupPath(item, path);
    if (!found.found) continue;
    if (!isItemId(found.value)) return { field: path, problem: `must be a non-empty string or a number, not ${describeValue(found.value)}` };
    // The first id field present names the item; a later one is not read.
    return null;
  }
  return null;
};

const describeValue = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : `a string of ${value.length} characters`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
};

/** The ids batchline gives POSTed items that have none of their own start so, followed by the item's position. */
export const GENERATED_ID_PREFIX = 'item-';
const generatedIdOf = (index: number): string => `${GENERATED_ID_PREFIX}${index}`;

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
  const id = ownIdOf(item, template);
  return id === null ? generatedIdOf(index) : String(id);
};

/**
 * The part of an item a result line keeps: enough to join a result back to
 * its item, never its content (article text, images), so every line
 * identifies its item the same compact way:
 * - a source item: `{ key }`, plus `id` when its stored object is a JSON
 *   article with an id of its own (`storedId`, read when its request was built);
 * - a POSTed item with an id (summarize's `id_field`, else `id`): `{ id }`;
 * - any other POSTed item: `{ index }`, its 0-based position in the POST.
 */
export const itemRefOf = (item: TemplateItem, index: number, template?: TemplateDefinition, storedId: string | number | null = null): ItemRef => {
  const key = sourceKeyOf(item);
  if (key !== null) return storedId === null ? { key } : { key, id: storedId };
  const id = ownIdOf(item, template);
  return id === null ? { index } : { id };
};

type ItemRef = { key: string; id?: string | number } | { id: string | number } | { index: number };
