import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../../src/lib/free-port.js';
import { SlackNotifier, type SlackRetryPolicy } from '../../../src/notify/slack-notifier.js';
import { parseRetryAfter } from '../../../src/notify/slack-failure.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { startSlackCapture, type CapturedSlack } from '../../helpers/slack-capture.js';

/** Short waits so the retries take milliseconds; the doubling and the cap are what is tested. */
const FAST: SlackRetryPolicy = { attempts: 4, firstDelayMs: 10, maxDelayMs: 2_000 };

/**
 * A Slack post that certainly did not reach Slack is tried again; one that
 * may have reached it is not, so a run is never announced twice. Against a
 * local HTTP listener standing in for the webhook.
 */
describe('SlackNotifier', () => {
  let slack: CapturedSlack;
  const notifier = (timeoutMs = 2_000, retry = FAST) => new SlackNotifier(undefined, captureLogs().logger, timeoutMs, retry);

  before(async () => {
    slack = await startSlackCapture();
  });
  after(async () => {
    await slack.close();
  });

  it('posts again after 503 answers (Slack refused the message), and the message arrives once', async () => {
    const before = slack.requests();
    slack.failNext(503);
    slack.failNext(503);
    const delivery = await notifier().post({ text: 'after two 503' }, slack.url);
    assert.deepEqual(delivery, { delivered: true });
    assert.equal(slack.requests() - before, 3);
    assert.equal(slack.messages.filter((message) => message.body.text === 'after two 503').length, 1);
  });

  for (const status of [500, 502, 504]) {
    it(`does not post again after a ${status}: it can come after Slack accepted the message`, async () => {
      const before = slack.requests();
      slack.failNext(status);
      const delivery = await notifier().post({ text: `maybe shown ${status}` }, slack.url);
      assert.equal(delivery.delivered, false);
      assert.match(delivery.delivered ? '' : delivery.reason, new RegExp(`HTTP ${status}.*may have reached Slack`));
      assert.equal(slack.requests() - before, 1);
    });
  }

  it('waits what a 429 retry-after asks before posting again', async () => {
    slack.failNext(429, { 'retry-after': '1' });
    const startedAt = Date.now();
    const delivery = await notifier().post({ text: 'after a 429' }, slack.url);
    assert.deepEqual(delivery, { delivered: true });
    assert.ok(Date.now() - startedAt >= 1_000, `waited ${Date.now() - startedAt} ms, not the second retry-after asked`);
  });

  it('gives up when retry-after asks for longer than the policy allows, without waiting', async () => {
    const before = slack.requests();
    slack.failNext(429, { 'retry-after': '3600' });
    const delivery = await notifier().post({ text: 'never posted' }, slack.url);
    assert.equal(delivery.delivered, false);
    assert.match(delivery.delivered ? '' : delivery.reason, /HTTP 429.*wait 3600 s/);
    assert.equal(slack.requests() - before, 1);
  });

  it('stops after its attempts while Slack keeps failing', async () => {
    const before = slack.requests();
    for (let failure = 0; failure < FAST.attempts; failure += 1) slack.failNext(503);
    const delivery = await notifier().post({ text: 'still failing' }, slack.url);
    assert.equal(delivery.delivered, false);
    assert.match(delivery.delivered ? '' : delivery.reason, /HTTP 503.*after 4 attempts/);
    assert.equal(slack.requests() - before, FAST.attempts);
  });

  it('does not post again after a 4xx other than 429 (a revoked webhook fails the same way)', async () => {
    const before = slack.requests();
    slack.failNext(404);
    const delivery = await notifier().post({ text: 'revoked' }, slack.url);
    assert.equal(delivery.delivered, false);
    assert.equal(slack.requests() - before, 1);
  });

  it('does not post again after a timeout: Slack may have shown it', async () => {
    const before = slack.requests();
    slack.hangNext();
    const delivery = await notifier(300).post({ text: 'maybe shown' }, slack.url);
    assert.equal(delivery.delivered, false);
    assert.match(delivery.delivered ? '' : delivery.reason, /may have reached Slack/);
    assert.equal(slack.requests() - before, 1);
    assert.equal(slack.messages.filter((message) => message.body.text === 'maybe shown').length, 0);
  });

  it('tries a refused connection again (nothing was sent), then gives up', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/services/T/B/X`;
    const refused = await notifier(2_000, { attempts: 2, firstDelayMs: 10, maxDelayMs: 100 }).post({ text: 'nobody listens' }, url);
    assert.equal(refused.delivered, false);
    assert.match(refused.delivered ? '' : refused.reason, /ECONNREFUSED \(after 2 attempts\)/);
    assert.ok(!(refused.delivered ? '' : refused.reason).includes(url), 'the webhook URL is not in the reason');
  });

  it('reads retry-after as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('7'), 7_000);
    assert.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2030, 0, 1)), 30_000);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter('soon'), null);
  });
});
