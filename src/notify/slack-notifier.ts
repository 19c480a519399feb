import { IncomingWebhook } from '@slack/webhook';
import type { Logger } from '../lib/logger.js';

export interface SlackMessage {
  text: string;
}

export type SlackDelivery = { delivered: true } | { delivered: false; reason: string };

/**
 * Posts a run's summary to a Slack incoming webhook, or logs it when no
 * webhook is configured. Holds no business logic: which message, and whether
 * it may be posted at all, is decided by the notify stage.
 */
export class SlackNotifier {
  constructor(
    private readonly defaultWebhookUrl: string | undefined,
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
  ) {}

  async post(message: SlackMessage, webhookUrl: string | null): Promise<SlackDelivery> {
    const url = webhookUrl ?? this.defaultWebhookUrl;
    if (url === undefined) {
      this.logger.info({ slack: 'not configured' }, `Slack message (SLACK_WEBHOOK_URL unset):\n${message.text}`);
      return { delivered: true };
    }
    try {
      // retryConfig stays at the library default of no retries: a retry after a
      // timeout could post the same summary twice.
      await new IncomingWebhook(url, { timeout: this.timeoutMs }).send(message);
      return { delivered: true };
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(url, '[webhook]') : 'unknown error';
      return { delivered: false, reason };
    }
  }
}
