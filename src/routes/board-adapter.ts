import { FastifyAdapter } from '@bull-board/fastify';
import { isRedisUnavailable, REDIS_UNAVAILABLE } from './error-handler.js';

/**
 * The board's API answers its own error shapes, which its UI reads, so its
 * error handler is kept; but an ioredis failure it would answer 500 quoting
 * the client ("Stream isn't writeable…"), so that message is replaced by
 * one that says only what the caller needs. (A request made while Redis is
 * known to be away is answered 503 before the board sees it: boardRoutes.)
 */
export class BoardAdapter extends FastifyAdapter {
  override setErrorHandler(handler: Parameters<FastifyAdapter['setErrorHandler']>[0]): this {
    return super.setErrorHandler((error) => handler(isRedisUnavailable(error) ? new Error(REDIS_UNAVAILABLE) : error));
  }
}
