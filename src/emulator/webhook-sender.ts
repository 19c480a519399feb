import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import type { EmulatorWebhook } from './emulator-options.js';
import { newEventId, newWebhookMessageId } from './emulator-ids.js';

/**
 * Posts OpenAI's batch webhook events, signed the Standard Webhooks way
 * (webhook-id, webhook-timestamp, webhook-signature = v1,HMAC-SHA256 of
 * "id.timestamp.body" with the whsec_ secret). Like OpenAI, it retries a
 * failed delivery a few times and may deliver an event more than once.
 */
export type BatchWebhookType = 'batch.completed' | 'batch.failed' | 'batch.expired' | 'batch.cancelled';

export interface WebhookDelivery {
  eventId: string;
  type: BatchWebhookType;
  batchId: string;
  attempt: number;
  /** The receiver's HTTP status, or null when it could not be reached. */
  status: number | null;
  error: string | null;
  atMs: number;
}

const RETRY_DELAYS_MS = [100, 500, 2000];

export class WebhookSender {
  private readonly signer: Webhook;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  readonly deliveries: WebhookDelivery[] = [];

  constructor(
    private readonly config: EmulatorWebhook,
    private readonly onFailure: (message: string) => void,
  ) {
    this.signer = new Webhook(config.secret);
  }

  /** Queues the event; delivery happens in the background. */
  send(type: BatchWebhookType, batchId: string, createdAt: number): void {
    const event = { id: newEventId(), object: 'event', created_at: createdAt, type, data: { id: batchId } };
    for (let copy = 0; copy < this.config.repeat; copy++) {
      const delivery = this.deliver(event.id, type, batchId, JSON.stringify(event)).finally(() => this.inFlight.delete(delivery));
      this.inFlight.add(delivery);
    }
  }

  private async deliver(eventId: string, type: BatchWebhookType, batchId: string, payload: string): Promise<void> {
    // One message id for every attempt: receivers deduplicate on webhook-id.
    const messageId = newWebhookMessageId();
    for (let attempt = 1; attempt <= RETRY_DELAYS_MS.length + 1; attempt++) {
      if (this.stop.signal.aborted) return;
      const timestamp = new Date();
      const record: WebhookDelivery = { eventId, type, batchId, attempt, status: null, error: null, atMs: Date.now() };
      try {
        const response = await fetch(this.config.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)',
            'webhook-id': messageId,
            'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
            'webhook-signature': this.signer.sign(messageId, timestamp, payload),
          },
          body: payload,
          signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(10_000)]),
        });
        await response.body?.cancel();
        record.status = response.status;
        this.deliveries.push(record);
        if (response.ok) return;
      } catch (error) {
        record.error = error instanceof Error ? error.message : String(error);
        this.deliveries.push(record);
      }
      const delay = RETRY_DELAYS_MS[attempt - 1];
      if (delay === undefined) break;
      await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
    this.onFailure(`webhook ${type} for ${batchId} could not be delivered to ${this.config.url}`);
  }

  /** Stops retrying and waits for deliveries under way. */
  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}
