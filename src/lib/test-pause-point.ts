import type { Logger } from './logger.js';

/**
 * Test-only: when BATCHLINE_TEST_PAUSE_AT names this point, the caller
 * stops here for good, so a crash test can kill the process at a known
 * step instead of racing it. Unset (always, outside tests) it returns at once.
 */
export async function testPausePoint(configured: string | undefined, point: string, logger: Logger): Promise<void> {
  if (configured === undefined || configured !== point) return;
  logger.warn({ pause_point: point }, 'paused at a test pause point (BATCHLINE_TEST_PAUSE_AT); waiting to be killed');
  await new Promise<never>(() => undefined);
}
