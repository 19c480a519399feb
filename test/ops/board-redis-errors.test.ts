import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { freePort } from '../../src/lib/free-port.js';
import { BoardAdapter } from '../../src/routes/board-adapter.js';

describe('Bull Board\'s error answers', () => {
  let app: FastifyInstance;
  let queue: Queue;
  before(async () => {
    // Nothing listens on the port and the client does not queue offline: every command fails at once, as when Redis goes away mid-request.
    queue = new Queue('gone', { connection: { host: '127.0.0.1', port: await freePort(), enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => null } });
    queue.on('error', () => {});
    const serverAdapter = new BoardAdapter();
    serverAdapter.setBasePath('/board');
    createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter });
    app = Fastify();
    await app.register(serverAdapter.registerPlugin(), { prefix: '/board' });
  });
  after(async () => {
    await app.close();
    await queue.close().catch(() => {});
  });

  it('keep the board\'s own shape, which its page reads, but never quote ioredis', async () => {
    const response = await app.inject({ method: 'GET', url: '/board/api/queues' });
    assert.equal(response.statusCode, 500, response.body);
    const body = JSON.parse(response.body) as { error?: unknown; message?: unknown };
    assert.equal(body.message, 'the queue store (Redis) is unavailable; try again shortly', response.body);
    assert.doesNotMatch(response.body, /Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|Connection is closed/);
  });
});
