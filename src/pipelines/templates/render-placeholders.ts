import { itemFailure, itemOk, type ItemOutcome } from './item-error.js';
import type { TemplateItem } from './template-item.js';

/**
 * `{{field}}` placeholders, filled from each item.
 *
 * Rules (the same everywhere a template has a prompt, system prompt,
 * instructions or embeddings input):
 * - A placeholder is `{{path}}` with optional spaces inside the braces; a path
 *   is dot-separated segments of letters, digits, `_` and `-`
 *   (`{{meta.title}}`, `{{tags.0}}` for an array element).
 * - Strings are inserted as they are; numbers and booleans as `String(v)`.
 * - Objects and arrays are inserted as compact JSON: models read JSON well,
 *   and it lets a prompt hand over a structured field (`{{meta}}`) without
 *   the user reshaping every item first.
 * - An absent field, or `null`, is a `missing_field` error naming the
 *   placeholder: an empty hole in a prompt would still be paid for and would
 *   quietly produce a wrong answer.
 * - Replacement is one pass: text inserted from an item is never scanned for
 *   placeholders again, so item data cannot pull other fields into a prompt.
 * Anything between `{{` and `}}` that is not a valid path is refused when the
 * template is defined (see `malformedPlaceholdersIn`), never at run time.
 */
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** The valid placeholder paths in a text, each once, in order of first use. */
export const placeholdersIn = (text: string): string[] => {
  const paths = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) {
    const path = match[1] ?? '';
    if (PATH.test(path)) paths.add(path);
  }
  return [...paths];
};

/** Every `{{…}}` whose inside is not a valid path (`{{}}`, `{{a b}}`, `{{a..b}}`). */
export const malformedPlaceholdersIn = (text: string): string[] => {
  const bad: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    if (!PATH.test(match[1] ?? '')) bad.push(match[0]);
  }
  return bad;
};

export type PathLookup = { found: true; value: unknown } | { found: false };

/**
 * Follows a dotted path through own properties only (a path such as
 * `constructor.name` must not reach into prototypes) and array indices.
 */
export const lookupPath = (item: TemplateItem, path: string): PathLookup => {
  let current: unknown = item;
  for (const segment of path.split('.')) {
    if (Array.isArray(current)) {
      if (!/^\d+$/.test(segment)) return { found: false };
      const index = Number(segment);
      if (index >= current.length) return { found: false };
      current = current[index] as unknown;
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return { found: false };
    }
  }
  return current === undefined ? { found: false } : { found: true, value: current };
};

/** The text a placeholder stands for, or why there is none. */
export const placeholderValue = (item: TemplateItem, path: string): ItemOutcome<string> => {
  const lookup = lookupPath(item, path);
  if (!lookup.found) return itemFailure('missing_field', `placeholder {{${path}}}: the item has no field "${path}"`);
  const { value } = lookup;
  if (value === null) return itemFailure('missing_field', `placeholder {{${path}}}: the item's "${path}" is null`);
  switch (typeof value) {
    case 'string':
      return itemOk(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return itemOk(String(value));
    case 'object':
      try {
        return itemOk(JSON.stringify(value));
      } catch {
        return itemFailure('invalid_item', `placeholder {{${path}}}: the item's "${path}" cannot be written as JSON`);
      }
    default:
      return itemFailure('invalid_item', `placeholder {{${path}}}: the item's "${path}" is a ${typeof value}, not a JSON value`);
  }
};

/** Fills every placeholder of text from item; the first unfillable one is the error. */
export const renderPlaceholders = (text: string, item: TemplateItem): ItemOutcome<string> => {
  const values = new Map<string, string>();
  for (const path of placeholdersIn(text)) {
    const value = placeholderValue(item, path);
    if (!value.ok) return value;
    values.set(path, value.value);
  }
  return itemOk(text.replace(PLACEHOLDER, (whole, path: string) => values.get(path) ?? whole));
};
