import { lookupPath } from './render-placeholders.js';
import type { TemplateDefinition } from './template-definition.js';

/**
 * Why a POSTed item cannot give its template any content, or null when it
 * can. A POSTed run has no source to read objects from, so the item itself
 * must carry what the template reads: a summarize item its text, an
 * image-moderation item its image, as a non-empty string. (A collected item
 * instead names an object of its pipeline's source by `key`, read when the
 * run is built.) Whether that content is usable (a real image, small enough)
 * is still each item's own outcome at build time.
 */
export function missingPostedContent(template: TemplateDefinition, item: Readonly<Record<string, unknown>>): string | null {
  switch (template.type) {
    case 'summarize': {
      const text = lookupPath(item, template.field);
      if (!text.found || text.value === null) return `has no "${template.field}" field with the article's text`;
      // A blank article would still be a paid request, answered with a made-up summary.
      if (typeof text.value !== 'string') return `has a "${template.field}" that is ${Array.isArray(text.value) ? 'an array' : `a ${typeof text.value}`}, not the article's text`;
      return text.value.trim() === '' ? `has an empty "${template.field}"` : null;
    }
    case 'image-moderation': {
      const image = [item['image_base64'], item['image_url']].find((value) => value !== undefined && value !== null);
      if (image === undefined) return 'has no "image_base64" or "image_url" with the image';
      return typeof image === 'string' && image.trim() !== '' ? null : 'has an "image_base64" or "image_url" that is not a non-empty string';
    }
    case 'chat':
    case 'responses':
    case 'embeddings':
      // Their content is their placeholders' fields, checked by name.
      return null;
  }
}
