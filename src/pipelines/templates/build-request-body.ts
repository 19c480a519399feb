import { articleTextForItem } from './article-text.js';
import type { InlineDataUrl } from './inline-data-url.js';
import { imageUrlForItem } from './item-image.js';
import { itemFailure, type ItemError, type ItemOutcome } from './item-error.js';
import { renderPlaceholders } from './render-placeholders.js';
import type { TemplateDefinition } from './template-definition.js';
import type { ReadObject, TemplateItem } from './template-item.js';

export interface BuildRequestContext {
  /** Reads a source item's object whole (ItemSource.read); needed for items that name a `key`. */
  readObject?: ReadObject;
}

export type BuildRequestResult = { ok: true; body: Body; inlineImages: readonly InlineDataUrl[]; storedId: string | number | null } | { ok: false; error: ItemError };

type Body = Record<string, unknown>;

interface BuiltBody {
  body: Body;
  /** The data URLs built here that the body carries, for the request line to copy in whole (see InlineDataUrl). */
  inlineImages: readonly InlineDataUrl[];
  /** The id a stored object gave itself (a `.json` article's), for the item's result line; read here, where the object is. */
  storedId: string | number | null;
}

/**
 * The `body` of one batch request line for one item (the caller adds
 * custom_id, method and url). Never throws for a problem with the item: it
 * comes back as `ok: false` with a code, so one bad item fails only itself.
 *
 * The template's `body` extras go first and the template's own fields last;
 * the schema already refuses extras that would replace `model`, `messages`,
 * `input` or a parameter one of the template's options sets (`max_tokens`,
 * `dimensions`, `instructions`).
 */
export const buildRequestBody = async (
  template: TemplateDefinition,
  item: TemplateItem,
  ctx: BuildRequestContext,
): Promise<BuildRequestResult> => {
  const built = await bodyFor(template, item, ctx);
  return built.ok ? { ok: true, ...built.value } : built;
};

const bodyFor = async (template: TemplateDefinition, item: TemplateItem, ctx: BuildRequestContext): Promise<ItemOutcome<BuiltBody>> => {
  switch (template.type) {
    case 'image-moderation': {
      const url = await imageUrlForItem(template, item, ctx.readObject);
      if (!url.ok) return url;
      const content = [
        { type: 'text', text: template.prompt },
        { type: 'image_url', image_url: { url: url.value.url, detail: template.detail } },
      ];
      return ok(
        {
          ...template.body,
          model: template.model,
          messages: [{ role: 'user', content }],
          ...maxTokens(template.max_tokens),
        },
        url.value.inline === null ? [] : [url.value.inline],
      );
    }
    case 'summarize': {
      const article = await articleTextForItem(template, item, ctx.readObject);
      if (!article.ok) return article;
      return ok({
        ...template.body,
        model: template.model,
        messages: [
          { role: 'system', content: template.system_prompt },
          { role: 'user', content: article.value.text },
        ],
        ...maxTokens(template.max_tokens),
      }, [], article.value.storedId);
    }
    case 'chat': {
      const system = template.system_prompt === undefined ? undefined : renderPlaceholders(template.system_prompt, item);
      if (system !== undefined && !system.ok) return system;
      const prompt = renderPlaceholders(template.prompt, item);
      if (!prompt.ok) return prompt;
      const messages = [...(system ? [{ role: 'system', content: system.value }] : []), { role: 'user', content: prompt.value }];
      return ok({ ...template.body, model: template.model, messages });
    }
    case 'responses': {
      const instructions = template.instructions === undefined ? undefined : renderPlaceholders(template.instructions, item);
      if (instructions !== undefined && !instructions.ok) return instructions;
      const input = renderPlaceholders(template.prompt, item);
      if (!input.ok) return input;
      return ok({
        ...template.body,
        model: template.model,
        ...(instructions ? { instructions: instructions.value } : {}),
        input: input.value,
      });
    }
    case 'embeddings': {
      const input = renderPlaceholders(template.input, item);
      if (!input.ok) return input;
      // The API refuses an empty input; better one clear item error than a failed request.
      if (input.value.trim() === '') return itemFailure('empty_item', 'the embeddings input is blank for this item');
      return ok({
        ...template.body,
        model: template.model,
        input: input.value,
        ...(template.dimensions === undefined ? {} : { dimensions: template.dimensions }),
      });
    }
  }
};

const ok = (body: Body, inlineImages: readonly InlineDataUrl[] = [], storedId: string | number | null = null): ItemOutcome<BuiltBody> => ({
  ok: true,
  value: { body, inlineImages, storedId },
});

const maxTokens = (value: number | undefined): Body => (value === undefined ? {} : { max_tokens: value });
