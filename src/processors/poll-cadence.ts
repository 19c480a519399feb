import type { Tuning } from '../tuning.js';

/**
 * When to check a waiting batch next: seconds at first, doubling to minutes
 * (most batches take hours), then tightening again within the last hour
 * before expires_at, when the outcome is about to be decided.
 */
export function nextPollDelay(checks: number, nowMs: number, expiresAtMs: number | null, tuning: Tuning): number {
  const backedOff = Math.min(tuning.pollInitialMs * 2 ** Math.min(checks, 30), tuning.pollMaxMs);
  if (expiresAtMs !== null && expiresAtMs - nowMs < 3600_000) return Math.min(backedOff, tuning.pollNearExpiryMs);
  return backedOff;
}
