import { IncomingWebhookHTTPError, IncomingWebhookRequestError } from '@slack/webhook';
import { errorCode } from '../lib/error-code.js';

/**
 * A failed Slack post, classified by whether Slack may have shown it.
 * `notPosted`: certainly not shown (the connection was refused, the name did
 * not resolve, Slack answered 429 or 503), so posting again cannot make a
 * second message. Otherwise the request may have reached Slack (a timeout,
 * a reset after sending, a 500/502/504): posting again could show the
 * message twice.
 */
export interface SlackFailure {
  notPosted: boolean;
  /** What Slack asked to wait before the next post (a 429's retry-after), in ms. */
  retryAfterMs: number | null;
  reason: string;
}

/** Connection errors raised before a request is sent: nothing reached Slack. */
const NEVER_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

export function classifySlackFailure(error: unknown, retryAfter: string | null, now = Date.now()): SlackFailure {
  if (error instanceof IncomingWebhookHTTPError) {
    // 429 (rate limited) and 503 (unavailable) refuse the message before accepting it. Other 5xx, a gateway
    // timeout above all, can come after Slack accepted it; other 4xx (a revoked webhook, a bad payload) fail the same way again.
    const notPosted = error.statusCode === 429 || error.statusCode === 503;
    return { notPosted, retryAfterMs: error.statusCode === 429 ? parseRetryAfter(retryAfter, now) : null, reason: `HTTP ${error.statusCode}${error.body === '' ? '' : `: ${error.body.slice(0, 200)}`}` };
  }
  if (error instanceof IncomingWebhookRequestError) {
    const code = errorCode(error.original);
    return { notPosted: code !== undefined && NEVER_CONNECTED.has(code), retryAfterMs: null, reason: code ?? error.original.message };
  }
  return { notPosted: false, retryAfterMs: null, reason: error instanceof Error ? error.message : String(error) };
}

/** `Retry-After` as seconds or an HTTP date (RFC 9110), in ms from now; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
