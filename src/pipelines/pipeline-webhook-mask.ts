/**
 * A Slack webhook URL is a credential (whoever has it can post): the API
 * shows only its origin and the last four characters, enough to tell two
 * apart. This file is the one place that knows the mask's form, so showing
 * it, refusing it as a URL and recognising it sent back agree.
 */

/** What marks a URL as masked: no webhook URL a person copies from Slack contains it. */
export const WEBHOOK_MASK_MARKER = '…';

export const maskWebhookUrl = (url: string): string => {
  try {
    return `${new URL(url).origin}/${WEBHOOK_MASK_MARKER}${url.slice(-4)}`;
  } catch {
    return WEBHOOK_MASK_MARKER;
  }
};

export const isMaskedWebhookUrl = (url: string): boolean => url.includes(WEBHOOK_MASK_MARKER);

/**
 * A pipeline read with GET and sent back with PUT carries its webhook URL
 * masked: exactly the mask of the stored URL stands for the stored URL (the
 * round trip keeps it). Anything else is returned as given, so a masked URL
 * that is not this one is refused by the definition's schema.
 */
export const restoreMaskedWebhookUrl = (given: unknown, stored: string | undefined): unknown =>
  stored !== undefined && typeof given === 'string' && isMaskedWebhookUrl(given) && given === maskWebhookUrl(stored) ? stored : given;
