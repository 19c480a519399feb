import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { captureLogs } from '../helpers/log-capture.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

const TOKENS = ['first-token-0123456789', 'second-token-abcdefghij'];
const WEBHOOK_SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
}

/** Every /v1 route the OpenAPI document lists, with its path parameters filled in. */
async function documentedApiRoutes(app: FastifyInstance): Promise<Route[]> {
  const response = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(response.statusCode, 200);
  const doc = JSON.parse(response.body) as { paths: Record<string, Record<string, unknown>> };
  const routes: Route[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    if (!path.startsWith('/v1/') || path === '/v1/webhooks/openai') continue;
    for (const method of Object.keys(operations)) {
      routes.push({ method: method.toUpperCase() as Route['method'], url: path.replace(/\{[^}]+\}/g, 'run_doesnotexist') });
    }
  }
  return routes;
}

const inject = (app: FastifyInstance, route: Route, authorization?: string, extra: Partial<InjectOptions> = {}) =>
  app.inject({
    method: route.method,
    url: route.url,
    headers: { ...(authorization === undefined ? {} : { authorization }), ...(route.method === 'POST' || route.method === 'PUT' ? { 'content-type': 'application/json' } : {}) },
    ...(route.method === 'POST' || route.method === 'PUT' ? { payload: '{}' } : {}),
    ...extra,
  });

describe('API tokens guard /v1/* and the board', () => {
  let t: TestService;
  let app: FastifyInstance;
  let routes: Route[];

  before(async () => {
    t = await startTestService({ workerOptions: { queues: ['notify'] }, env: { API_TOKENS: TOKENS.join(','), OPENAI_WEBHOOK_SECRET: WEBHOOK_SECRET } });
    assert.ok(t.service.app !== null);
    app = t.service.app;
    routes = await documentedApiRoutes(app);
  });
  after(async () => {
    await t.close();
  });

  it('the documented /v1 routes are the product\'s', () => {
    const listed = routes.map((route) => `${route.method} ${route.url}`);
    for (const expected of [
      'POST /v1/runs',
      'GET /v1/runs',
      'GET /v1/runs/run_doesnotexist',
      'GET /v1/runs/run_doesnotexist/results',
      'POST /v1/runs/run_doesnotexist/cancel',
    ]) {
      assert.ok(listed.includes(expected), `${expected} is not in the OpenAPI document: ${listed.join(', ')}`);
    }
  });

  it('every /v1 route answers 401 without a token, with a wrong one, and with basic auth', async () => {
    assert.ok(routes.length >= 5);
    for (const route of routes) {
      for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${TOKENS[0]}x`, 'Bearer', basic('ops', TOKENS[0] ?? ''), TOKENS[0]]) {
        const response = await inject(app, route, authorization);
        assert.equal(response.statusCode, 401, `${route.method} ${route.url} with ${String(authorization)}: ${response.statusCode} ${response.body}`);
        const body = JSON.parse(response.body) as { error: { code: string; message: string } };
        assert.equal(body.error.code, 'unauthorized');
        assert.equal(response.headers['www-authenticate'], 'Bearer');
      }
    }
  });

  it('says what is wrong with a refused Authorization header', async () => {
    const route: Route = { method: 'GET', url: '/v1/runs' };
    const messageFor = async (authorization?: string): Promise<string> => {
      const response = await inject(app, route, authorization);
      assert.equal(response.statusCode, 401, response.body);
      return (JSON.parse(response.body) as { error: { message: string } }).error.message;
    };
    assert.equal(await messageFor(), 'missing bearer token: send Authorization: Bearer <token>');
    assert.equal(await messageFor(basic('ops', TOKENS[0] ?? '')), 'basic auth is not accepted on the API: send Authorization: Bearer <token>');
    assert.equal(await messageFor(`Bearer ${TOKENS[0]}, ${TOKENS[1]}`), 'malformed Authorization header: send `Bearer <token>` (one token)');
    assert.equal(await messageFor(TOKENS[0]), 'malformed Authorization header: send `Bearer <token>` (one token)');
    assert.equal(await messageFor('Bearer wrong-token'), 'invalid bearer token');
  });

  it('every /v1 route lets either configured token through', async () => {
    for (const route of routes) {
      for (const token of TOKENS) {
        const response = await inject(app, route, `Bearer ${token}`);
        assert.notEqual(response.statusCode, 401, `${route.method} ${route.url}: ${response.body}`);
      }
    }
  });

  it('the board and its API answer 401 without a token or with a wrong one, and ask the browser for basic auth', async () => {
    for (const url of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/queue/poll', '/admin/queues/static/favicon-32x32.png']) {
      for (const authorization of [undefined, 'Bearer wrong-token', basic('ops', 'wrong-token'), basic(TOKENS[0] ?? '', '')]) {
        const response = await app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });
        assert.equal(response.statusCode, 401, `${url} with ${String(authorization)}`);
        assert.match(String(response.headers['www-authenticate']), /^Basic realm="batchline"/);
      }
    }
  });

  it('the board page and its API are served with a bearer token or basic auth carrying a token', async () => {
    for (const authorization of [`Bearer ${TOKENS[0]}`, basic('anyone', TOKENS[1] ?? '')]) {
      const page = await app.inject({ method: 'GET', url: '/admin/queues', headers: { authorization } });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.match(page.body, /<base href="\/admin\/queues\/"/);
      const api = await app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: { authorization } });
      assert.equal(api.statusCode, 200, api.body);
      const { queues } = JSON.parse(api.body) as { queues: Array<{ name: string; readOnlyMode: boolean }> };
      assert.deepEqual(queues.map((queue) => queue.name).sort(), ['build', 'collect', 'notify', 'poll', 'results', 'submit']);
      assert.ok(queues.every((queue) => queue.readOnlyMode), 'read-only unless BULL_BOARD_WRITABLE');
    }
  });

  it('the board is read-only: every change is refused', async () => {
    const authorization = `Bearer ${TOKENS[0]}`;
    for (const [method, url] of [
      ['PUT', '/admin/queues/api/queues/poll/pause'],
      ['PUT', '/admin/queues/api/queues/pause'],
      ['PUT', '/admin/queues/api/queues/submit/retry/failed'],
      ['POST', '/admin/queues/api/queues/build/add'],
      ['PUT', '/admin/queues/api/queues/poll/empty'],
    ] as const) {
      const response = await app.inject({ method, url, headers: { authorization, 'content-type': 'application/json' }, payload: '{}' });
      assert.equal(response.statusCode, 405, `${method} ${url}: ${response.body}`);
      assert.equal((JSON.parse(response.body) as { error: { code: string } }).error.code, 'read_only');
    }
    assert.equal(await t.service.deps.queues.poll.isPaused(), false);
  });

  it('health, readiness, metrics and docs need no token', async () => {
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs/json']) {
      const response = await app.inject({ method: 'GET', url });
      assert.equal(response.statusCode, 200, url);
    }
  });
});

describe('with no API_TOKENS', () => {
  let t: TestService;
  let loopbackOnly: RunningService;
  const logs = captureLogs('info');

  before(async () => {
    t = await startTestService({ workerOptions: { queues: ['notify'] } });
    loopbackOnly = await startService({ role: 'api', config: loadConfig({ ...t.env, API_TOKENS: '' }), logger: logs.logger, overrides: { workDir: path.join(t.storageDir, 'loopback-work') } });
  });
  after(async () => {
    await loopbackOnly.stop();
    await t.close();
  });

  it('says so at start', () => {
    assert.equal(logs.find('API_TOKENS is not set').length, 1);
    assert.equal(logs.find('API_TOKENS is not set')[0]?.['level'], 40);
  });

  it('lets loopback callers in and refuses everyone else, on the API and the board', async () => {
    const app = loopbackOnly.app;
    assert.ok(app !== null);
    for (const url of ['/v1/runs', '/admin/queues/api/queues']) {
      const local: LightMyRequestResponse = await app.inject({ method: 'GET', url, remoteAddress: '127.0.0.1' });
      assert.equal(local.statusCode, 200, `${url} from loopback: ${local.body}`);
      const local6: LightMyRequestResponse = await app.inject({ method: 'GET', url, remoteAddress: '::1' });
      assert.equal(local6.statusCode, 200);
      for (const remoteAddress of ['203.0.113.9', '10.0.0.5', '::ffff:192.168.1.4']) {
        const remote: LightMyRequestResponse = await app.inject({ method: 'GET', url, remoteAddress, headers: { authorization: 'Bearer anything' } });
        assert.equal(remote.statusCode, 401, `${url} from ${remoteAddress}`);
      }
    }
  });
});

describe('rate limit on /v1', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ workerOptions: { queues: ['notify'] }, env: { API_TOKENS: TOKENS[0] ?? '', API_RATE_LIMIT_PER_MINUTE: '5', OPENAI_WEBHOOK_SECRET: WEBHOOK_SECRET } });
  });
  after(async () => {
    await t.close();
  });

  it('answers 429 in the API\'s error shape past the limit, per client, and leaves health and webhooks alone', async () => {
    const app = t.service.app;
    assert.ok(app !== null);
    const get = (remoteAddress: string, authorization = `Bearer ${TOKENS[0]}`) => app.inject({ method: 'GET', url: '/v1/runs', remoteAddress, headers: { authorization } });
    for (let i = 0; i < 5; i++) assert.equal((await get('198.51.100.1')).statusCode, 200);
    const limited = await get('198.51.100.1');
    assert.equal(limited.statusCode, 429, limited.body);
    assert.equal((JSON.parse(limited.body) as { error: { code: string } }).error.code, 'rate_limited');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Bad tokens count too: the limit comes before authentication.
    assert.equal((await get('198.51.100.1', 'Bearer wrong')).statusCode, 429);
    assert.equal((await get('198.51.100.2')).statusCode, 200, 'another client has its own budget');
    for (let i = 0; i < 10; i++) {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz', remoteAddress: '198.51.100.1' })).statusCode, 200);
      const webhook: LightMyRequestResponse = await app.inject({ method: 'POST', url: '/v1/webhooks/openai', remoteAddress: '198.51.100.1', headers: { 'content-type': 'application/json' }, payload: '{}' });
      assert.equal(webhook.statusCode, 401, 'webhooks are refused by their signature, not the rate limit');
    }
  });
});
