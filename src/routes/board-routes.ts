import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../deps.js';
import { QUEUE_NAMES } from '../queues/queue-names.js';
import { createApiAuth } from './api-auth.js';
import { apiErrorBody } from '../lib/api-error-codes.js';
import { REDIS_UNAVAILABLE } from './error-handler.js';
import { BoardAdapter } from './board-adapter.js';

export const BOARD_PATH = '/admin/queues';

const STAGE_DESCRIPTIONS = {
  collect: 'lists new items of a scheduled pipeline',
  build: 'writes a run\'s requests into JSONL shards',
  submit: 'uploads a shard and creates its batch',
  poll: 'checks a batch until it ends (delayed, self-rescheduling)',
  results: 'joins a batch\'s output back to its items',
  notify: 'settles the run and posts to Slack',
} as const;

/**
 * Bull Board at /admin/queues for every stage queue, behind the API's
 * tokens (bearer, or basic auth with a token as the password so a browser
 * can open it). Read-only unless BULL_BOARD_WRITABLE: retrying or removing
 * a job by hand bypasses the run ledger's view of what happened.
 */
export function boardRoutes(deps: Deps) {
  return async (app: FastifyInstance): Promise<void> => {
    const writable = deps.config.BULL_BOARD_WRITABLE;
    const serverAdapter = new BoardAdapter();
    serverAdapter.setBasePath(BOARD_PATH);
    createBullBoard({
      queues: QUEUE_NAMES.map(
        (name) => new BullMQAdapter(deps.queues[name], { readOnlyMode: !writable, allowRetries: writable, description: STAGE_DESCRIPTIONS[name] }),
      ),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'batchline' } },
    });

    const auth = createApiAuth(deps.config.API_TOKENS, { basic: true });
    app.addHook('onRequest', auth);
    // The board's own API reads the queues from Redis: with Redis away, say so as every other route does, before it tries.
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.url.startsWith(`${BOARD_PATH}/api/`) && deps.redis.status !== 'ready') await reply.code(503).send(apiErrorBody('unavailable', REDIS_UNAVAILABLE));
    });
    if (!writable) {
      // The board refuses changes to read-only queues itself; refusing every write here too means no board route can slip through.
      app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        if (request.method === 'GET' || request.method === 'HEAD') return;
        await reply.code(405).send(apiErrorBody('read_only', 'the board is read-only (set BULL_BOARD_WRITABLE=true to allow changes)'));
      });
    }
    await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
  };
}
