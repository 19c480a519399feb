import { lookupPath } from './render-placeholders.js';
import type { TemplateDefinition } from './template-definition.js';

/**
 * Why a POSTed item cannot give its template any content, or null when it
 * can. A POSTed run has no source to read objects from, so the item itself
 * must carry what the template reads: a summarize item its text, an
 * image-moderation item its image. (A collected item instead names an object
 * of its pipeline's source by `key`, read when the run is built.) Whether
 * that content is usable (a real image, small enough) is still each item's
 * own outcome at build time.
 */
export function missingPostedContent(template: TemplateDefinition, item: Readonly<Record<string, unknown>>): string | null {
  switch (template.type) {
    case 'summarize': {
      const text = lookupPath(item, template.field);
      return text.found && text.value !== null ? null : `has no "${template.field}" field with the article's text`;
    }
    case 'image-moderation':
      return typeof item['image_base64'] === 'string' || typeof item['image_url'] === 'string' ? null : 'has no "image_base64" or "image_url" with the image';
    case 'chat':
    case 'responses':
    case 'embeddings':
      // Their content is their placeholders' fields, checked by name.
      return null;
  }
}
