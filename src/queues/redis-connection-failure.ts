import { isNotConnectionError } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorCode } from '../lib/error-code.js';

/** A client's latest connection error, until it is ready again. */
const lastErrors = new WeakMap<Redis, Error>();
const watched = new WeakSet<Redis>();

/** What the usual socket and DNS errors mean, in words; anything else is reported as its own message. */
const CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  // A write to a socket Redis has already closed: a worker mid-command when Redis dies hears this before the refused reconnects.
  EPIPE: 'connection closed',
  ECONNABORTED: 'connection aborted',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

/**
 * Keeps the client's latest connection error (idempotent). With its offline
 * queue off, a command on a disconnected client fails only with "Stream isn't
 * writeable and enableOfflineQueue options is false", which says nothing of
 * why; the error event does ("connect ECONNREFUSED 127.0.0.1:6379").
 */
export function watchRedisConnection(redis: Redis): void {
  if (watched.has(redis)) return;
  watched.add(redis);
  redis.on('error', (error: Error) => lastErrors.set(redis, error));
  redis.on('ready', () => lastErrors.delete(redis));
}

/** A connection error in words: "connection refused", or the error's own message when it is not a usual one. */
export function describeConnectionError(error: Error): string {
  return CAUSES[errorCode(error) ?? ''] ?? error.message;
}

/**
 * Whether an error says the connection to Redis is gone (refused, reset,
 * closed, timed out, not found) rather than that a command went wrong:
 * BullMQ's own test, widened to the socket and DNS errors above.
 */
export function isRedisConnectionError(error: Error): boolean {
  return !isNotConnectionError(error) || (errorCode(error) ?? '') in CAUSES;
}

/** Why the client has no connection, e.g. "connection refused at 127.0.0.1:6379". */
export function describeRedisConnectionFailure(redis: Redis): string {
  const where = `${redis.options.host ?? '127.0.0.1'}:${redis.options.port ?? 6379}`;
  const error = lastErrors.get(redis);
  if (error === undefined) return `not connected to ${where} (${redis.status})`;
  return `${describeConnectionError(error)} at ${where}`;
}
