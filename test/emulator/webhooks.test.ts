import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { chatLine, chatLines, startKit, startWebhookReceiver as startReceiver, TERMINAL, type EmulatorKit } from './emulator-test-kit.js';

const SECRET = `whsec_${Buffer.from('emulator-test-secret-32-bytes-long!').toString('base64')}`;

const headerRecord = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]));

describe('emulator: webhooks', () => {
  it('posts batch.completed|failed|expired|cancelled, signed the Standard Webhooks way, without anyone polling', async () => {
    const receiver = await startReceiver();
    let kit: EmulatorKit | undefined;
    try {
      kit = await startKit({ webhook: { url: receiver.url, secret: SECRET }, sweepIntervalMs: 20 });
      const completed = await kit.createBatch(chatLines(2));
      const failed = await kit.createBatch(['not json']);
      const expired = await kit.createBatch(chatLines(4), { metadata: { emulator_expire_at: '0.5' } });
      const cancelled = await kit.createBatch(chatLines(2), { metadata: { emulator_in_progress_ms: '60000' } });
      await kit.waitForStatus(cancelled.id, ['in_progress']);
      await kit.client.batches.cancel(cancelled.id);

      const deliveries = await receiver.waitFor(4);
      const verifier = new Webhook(SECRET);
      const events = new Map<string, string>();
      for (const delivery of deliveries) {
        const headers = headerRecord(delivery.headers);
        assert.match(headers['webhook-id'] ?? '', /^wh_/);
        assert.match(headers['webhook-signature'] ?? '', /^v1,/);
        // The official SDK's verifier and the standardwebhooks package both accept it.
        const event = await kit.client.webhooks.unwrap(delivery.body, headers, SECRET);
        assert.ok(event.type.startsWith('batch.'));
        verifier.verify(delivery.body, headers);
        const payload = JSON.parse(delivery.body) as { id: string; object: string; created_at: number; type: string; data: { id: string } };
        assert.match(payload.id, /^evt_/);
        assert.equal(payload.object, 'event');
        assert.deepEqual(Object.keys(payload.data), ['id'], 'the event carries only the batch id');
        events.set(payload.data.id, payload.type);
      }
      assert.deepEqual(Object.fromEntries(events), {
        [completed.id]: 'batch.completed',
        [failed.id]: 'batch.failed',
        [expired.id]: 'batch.expired',
        [cancelled.id]: 'batch.cancelled',
      });

      // A tampered body is refused.
      const first = deliveries[0];
      assert.ok(first !== undefined);
      await assert.rejects(kit.client.webhooks.unwrap(first.body.replace('batch.', 'batch_'), headerRecord(first.headers), SECRET));
      assert.throws(() => verifier.verify(`${first.body} `, headerRecord(first.headers)));
    } finally {
      await kit?.close();
      await receiver.close();
    }
  });

  it('retries a failed delivery with the same webhook-id, and can repeat events', async () => {
    const receiver = await startReceiver((index) => (index === 0 ? 500 : 200));
    let kit: EmulatorKit | undefined;
    try {
      kit = await startKit({ webhook: { url: receiver.url, secret: SECRET, repeat: 2 }, sweepIntervalMs: 20 });
      const batch = await kit.createBatch([chatLine('a', 'hi')]);
      await kit.waitForStatus(batch.id, TERMINAL);
      const deliveries = await receiver.waitFor(3);
      const bodies = deliveries.map((delivery) => JSON.parse(delivery.body) as { id: string; type: string });
      assert.equal(new Set(bodies.map((body) => body.id)).size, 1, 'the same event, delivered more than once');
      const ids = deliveries.map((delivery) => delivery.headers['webhook-id']);
      assert.equal(new Set(ids).size, 2, 'a retry keeps its webhook-id; a repeat gets its own');
      // The receiver has answered; the emulator records each outcome as its fetch resolves.
      const deadline = Date.now() + 5000;
      while (kit.emulator.ledger.webhookDeliveries().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      const log = kit.emulator.ledger.webhookDeliveries();
      assert.ok(log.some((entry) => entry.status === 500) && log.filter((entry) => entry.status === 200).length === 2, JSON.stringify(log));
    } finally {
      await kit?.close();
      await receiver.close();
    }
  });
});
