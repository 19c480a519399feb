import { setTimeout as sleep } from 'node:timers/promises';
import { IncomingWebhook, type FetchFunction } from '@slack/webhook';
import type { Logger } from '../lib/logger.js';
import { classifySlackFailure } from './slack-failure.js';

export interface SlackMessage {
  text: string;
}

export type SlackDelivery = { delivered: true } | { delivered: false; reason: string };

/** How a post that certainly did not reach Slack is tried again. */
export interface SlackRetryPolicy {
  /** Posts in all, the first included. */
  attempts: number;
  /** Wait before the first retry; each further one doubles it. */
  firstDelayMs: number;
  /** The longest wait, a 429's retry-after included: a longer one gives up instead. */
  maxDelayMs: number;
}

export const DEFAULT_SLACK_RETRY: SlackRetryPolicy = { attempts: 5, firstDelayMs: 1_000, maxDelayMs: 60_000 };

/**
 * Posts a message to a Slack incoming webhook, or logs it when no webhook is
 * configured. Holds no business logic: which message, and whether it may be
 * posted at all, is decided by its caller.
 *
 * A post that certainly did not reach Slack (connection refused, a name
 * that does not resolve, a 429 or 503 answer) is tried again, a bounded
 * number of times with doubling waits, a 429's retry-after honoured. One
 * that may have reached it (a timeout, a reset after sending, another 5xx)
 * is not: a second post could show the message twice.
 */
export class SlackNotifier {
  constructor(
    private readonly defaultWebhookUrl: string | undefined,
    private readonly logger: Logger,
    private readonly timeoutMs = 10_000,
    private readonly retry: SlackRetryPolicy = DEFAULT_SLACK_RETRY,
  ) {}

  async post(message: SlackMessage, webhookUrl: string | null): Promise<SlackDelivery> {
    const url = webhookUrl ?? this.defaultWebhookUrl;
    if (url === undefined) {
      this.logger.info({ slack: 'not configured' }, `Slack message (SLACK_WEBHOOK_URL unset):\n${message.text}`);
      return { delivered: true };
    }
    // The library's errors drop the response headers; a 429's retry-after is read on the way through.
    let retryAfter: string | null = null;
    const fetchKeepingRetryAfter: FetchFunction = async (input, init) => {
      const response = await fetch(input, init);
      retryAfter = response.headers.get('retry-after');
      return response;
    };
    // The library's own retries stay off: it retries timeouts too, which could post twice.
    const webhook = new IncomingWebhook(url, { timeout: this.timeoutMs, fetch: fetchKeepingRetryAfter });
    for (let attempt = 1; ; attempt += 1) {
      retryAfter = null;
      try {
        await webhook.send(message);
        return { delivered: true };
      } catch (error) {
        const failure = classifySlackFailure(error, retryAfter);
        const reason = failure.reason.replaceAll(url, '[webhook]');
        const delayMs = failure.retryAfterMs ?? this.retry.firstDelayMs * 2 ** (attempt - 1);
        if (!failure.notPosted) return { delivered: false, reason: `${reason} (may have reached Slack; not posted again)` };
        if (attempt >= this.retry.attempts) return { delivered: false, reason: `${reason} (after ${attempt} attempts)` };
        if (delayMs > this.retry.maxDelayMs) return { delivered: false, reason: `${reason} (Slack asked to wait ${Math.ceil(delayMs / 1000)} s; given up)` };
        this.logger.warn({ reason, attempt, retry_in_ms: delayMs }, 'Slack post failed before reaching Slack; trying again');
        await sleep(delayMs);
      }
    }
  }
}
