import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Redis } from 'ioredis';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { startService, type RunningService } from '../../src/server.js';
import { quickTuning } from '../../src/tuning.js';
import { captureLogs } from '../helpers/log-capture.js';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';
import { apiErrorCodesOf } from '../../src/lib/api-error-codes.js';
import { BATCH_ENDPOINTS } from '../../src/lib/batch-limits.js';

const TOKEN = 'observability-token';

type Families = Map<string, parsePrometheusTextFormat.ParsedFamily>;

/** A sample's value by metric name and labels (0 when the series is absent). */
function sample(families: Families, name: string, labels: Record<string, string> = {}): number {
  const family = families.get(name);
  const match = family?.metrics.find((metric) => Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value));
  return Number(match?.value ?? match?.count ?? 0);
}

describe('observability: /metrics, /readyz, /docs and the logs', () => {
  let t: TestService;
  let workers: RunningService;
  const logs = captureLogs('info');

  const scrape = async (): Promise<Families> => {
    assert.ok(t.service.app !== null);
    const response = await t.service.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return new Map(parsePrometheusTextFormat(response.body).map((family) => [family.name, family]));
  };

  before(async () => {
    // The API in one service and the stage workers in another, as in a real deployment: /metrics on the API must still see the workers' work.
    t = await startTestService({ workerOptions: { queues: ['notify'] }, env: { API_TOKENS: TOKEN, OPENAI_WEBHOOK_SECRET: `whsec_${Buffer.from('observability-webhook-secret-32b!').toString('base64')}` } });
    workers = await startService({
      role: 'worker',
      config: loadConfig(t.env),
      logger: logs.logger,
      overrides: { tuning: quickTuning, workDir: path.join(t.storageDir, 'worker-work') },
      // The test service keeps the notify stage (it tells the test when a run ends); every other stage runs here.
      workerOptions: { queues: ['collect', 'build', 'submit', 'poll', 'results'] },
    });
  });
  after(async () => {
    await workers.stop();
    await t.close();
  });

  it('/metrics parses as Prometheus text, with every family typed', async () => {
    const families = await scrape();
    const expected: Record<string, string> = {
      batchline_queue_jobs: 'GAUGE',
      batchline_poll_checks_total: 'COUNTER',
      batchline_batches_created_total: 'COUNTER',
      batchline_batches_finished_total: 'COUNTER',
      batchline_requests_total: 'COUNTER',
      batchline_slack_failures_total: 'COUNTER',
      batchline_collections_failed_total: 'COUNTER',
      batchline_webhooks_total: 'COUNTER',
      batchline_results_latency_seconds: 'HISTOGRAM',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(families.get(name)?.type, type, name);
    const queues = new Set(families.get('batchline_queue_jobs')?.metrics.map((metric) => metric.labels?.['queue']));
    assert.deepEqual([...queues].sort(), ['build', 'collect', 'notify', 'poll', 'results', 'submit']);
    for (const status of ['completed', 'failed', 'expired', 'cancelled']) assert.equal(sample(families, 'batchline_batches_finished_total', { status }), 0);
  });

  it('changes after a run: jobs, batches, request outcomes, status checks, latency to results, Slack failures', async () => {
    const before = await scrape();
    t.slack.failNext(404);
    const posted = await t.request(
      'POST',
      '/v1/runs',
      {
        template: { type: 'summarize' },
        items: [
          { id: 'a1', text: 'Bees pollinate most crops. Yields fall without them.' },
          { id: 'a2', text: 'The library opened. It has a garden.' },
          { id: 'a3', text: 'EMULATOR_FAIL this one fails.' },
        ],
      },
      { authorization: `Bearer ${TOKEN}` },
    );
    assert.equal(posted.status, 202, posted.text);
    const run = await t.waitForRunEnd((posted.body as RunView).id, 30_000);
    assert.equal(run.status, 'partial', JSON.stringify(run));
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    assert.equal(delta('batchline_batches_created_total'), 1);
    assert.equal(delta('batchline_batches_finished_total', { status: 'completed' }), 1);
    assert.equal(delta('batchline_requests_total', { outcome: 'succeeded' }), 2);
    assert.equal(delta('batchline_requests_total', { outcome: 'failed' }), 1);
    assert.ok(delta('batchline_poll_checks_total') >= 1);
    assert.equal(delta('batchline_slack_failures_total'), 1);
    for (const queue of ['build', 'submit', 'poll', 'results', 'notify']) {
      assert.ok(delta('batchline_queue_jobs', { queue, state: 'completed' }) >= 1, `${queue} completed jobs`);
    }
    const latency = after.get('batchline_results_latency_seconds')?.metrics[0];
    assert.equal(Number(latency?.count), 1);
    assert.equal(latency?.buckets?.['+Inf'], '1');
    // quick polling finds the batch within a second or two; OpenAI's timestamps are whole seconds.
    assert.ok(Number(latency?.sum) < 5, `latency ${latency?.sum} s`);
    assert.equal(latency?.buckets?.['5'], '1');
  });

  it('logs are JSON lines that carry the run, shard and batch ids', async () => {
    assert.ok(logs.lines.length > 0);
    for (const line of logs.lines) JSON.parse(line);
    const finished = logs.find('batch finished');
    assert.ok(finished.length >= 1);
    for (const field of ['run_id', 'shard', 'batch_id']) assert.ok(finished[0]?.[field] !== undefined, `"batch finished" has ${field}`);
    const stored = logs.find('shard results stored');
    assert.ok(stored[0]?.['run_id'] !== undefined && stored[0]['shard'] !== undefined);
  });

  it('/readyz: ready on a reachable Redis that keeps its writes; 503 when it does not, or cannot be reached', async () => {
    assert.ok(t.service.app !== null);
    const ephemeral = await t.service.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ephemeral.statusCode, 200);
    assert.deepEqual(JSON.parse(ephemeral.body), { status: 'ready', redis: 'ok', persistence: 'none', eviction: 'noeviction' });

    const strictApp = await buildApp({ ...t.service.deps, config: { ...t.service.deps.config, BATCHLINE_ALLOW_EPHEMERAL_REDIS: false } });
    const unreachable = new Redis({ port: await freePort(), lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => undefined);
    const goneApp = await buildApp({ ...t.service.deps, redis: unreachable });
    let durable: TestRedis | null = null;
    try {
      const notPersistent = await strictApp.inject({ method: 'GET', url: '/readyz' });
      assert.equal(notPersistent.statusCode, 503);
      assert.equal((JSON.parse(notPersistent.body) as { persistence: string }).persistence, 'none');

      const gone = await goneApp.inject({ method: 'GET', url: '/readyz' });
      assert.equal(gone.statusCode, 503);
      assert.equal((JSON.parse(gone.body) as { status: string }).status, 'unavailable');

      durable = await startRedis({ appendonly: true });
      const durableClient = new Redis(durable.port, '127.0.0.1');
      const durableApp = await buildApp({ ...t.service.deps, redis: durableClient, config: { ...t.service.deps.config, BATCHLINE_ALLOW_EPHEMERAL_REDIS: false } });
      try {
        const ready = await durableApp.inject({ method: 'GET', url: '/readyz' });
        assert.equal(ready.statusCode, 200);
        assert.equal((JSON.parse(ready.body) as { persistence: string }).persistence, 'aof');
        await durableClient.config('SET', 'maxmemory-policy', 'allkeys-lru');
        const evicting = await durableApp.inject({ method: 'GET', url: '/readyz' });
        assert.equal(evicting.statusCode, 503);
        assert.equal((JSON.parse(evicting.body) as { eviction: string }).eviction, 'allkeys-lru');
      } finally {
        await durableApp.close();
        durableClient.disconnect();
      }
    } finally {
      await strictApp.close();
      await goneApp.close();
      unreachable.disconnect();
      await durable?.stop();
    }
  });

  it('/docs/json documents every route and the error shape; /docs serves the UI', async () => {
    assert.ok(t.service.app !== null);
    const response = await t.service.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(response.statusCode, 200);
    const doc = JSON.parse(response.body) as {
      openapi: string;
      paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
    };
    assert.match(doc.openapi, /^3\./);
    const expected: Array<[string, string]> = [
      ['post', '/v1/runs'],
      ['get', '/v1/runs'],
      ['get', '/v1/runs/{id}'],
      ['get', '/v1/runs/{id}/results'],
      ['post', '/v1/runs/{id}/cancel'],
      ['put', '/v1/pipelines/{id}'],
      ['get', '/v1/pipelines'],
      ['get', '/v1/pipelines/{id}'],
      ['delete', '/v1/pipelines/{id}'],
      ['post', '/v1/pipelines/{id}/trigger'],
      ['post', '/v1/webhooks/openai'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
    ];
    for (const [method, route] of expected) assert.ok(doc.paths[route]?.[method] !== undefined, `${method.toUpperCase()} ${route} is not documented`);
    // Every /v1 operation documents its errors in the one shape the API answers with.
    for (const [route, operations] of Object.entries(doc.paths)) {
      if (!route.startsWith('/v1/')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        const error = operation.responses?.['400'] ?? operation.responses?.['401'] ?? operation.responses?.['404'];
        const schema = JSON.stringify(error?.content?.['application/json']?.schema ?? {});
        assert.ok(schema.includes('"error"') && schema.includes('"code"') && schema.includes('"message"'), `${method.toUpperCase()} ${route} lacks the error shape: ${schema}`);
      }
    }
    // Each error response lists the codes its status is answered with, as API_ERROR_CODES has them.
    const codesOf = (route: string, method: string, status: string): unknown => {
      const schema = doc.paths[route]?.[method]?.responses?.[status]?.content?.['application/json']?.schema as { properties?: { error?: { properties?: { code?: { enum?: unknown } } } } } | undefined;
      return schema?.properties?.error?.properties?.code?.enum;
    };
    assert.deepEqual(codesOf('/v1/runs/{id}/results', 'get', '409'), apiErrorCodesOf(409));
    assert.deepEqual(codesOf('/v1/runs', 'post', '413'), ['body_too_large', 'request_line_too_large']);
    assert.ok((codesOf('/v1/runs', 'post', '400') as string[]).includes('duplicate_custom_id'));
    assert.deepEqual(codesOf('/v1/webhooks/openai', 'post', '401'), ['unauthorized', 'invalid_signature']);
    // Each operation lists the errors it can answer, not every error of the API.
    const statuses = (route: string, method: string): string[] => Object.keys(doc.paths[route]?.[method]?.responses ?? {}).sort();
    assert.deepEqual(statuses('/v1/runs', 'get'), ['200', '400', '401', '429', '503']);
    assert.deepEqual(statuses('/v1/runs/{id}', 'get'), ['200', '400', '401', '404', '429', '503']);
    assert.deepEqual(statuses('/v1/runs/{id}/results', 'get'), ['200', '400', '401', '404', '409', '429', '503']);
    assert.deepEqual(statuses('/v1/runs', 'post'), ['202', '400', '401', '404', '413', '415', '429', '503']);
    assert.deepEqual(statuses('/v1/webhooks/openai', 'post'), ['200', '400', '401', '404', '413', '415', '503']);
    // A route whose method carries a body can answer 413 and 415 (a large or non-JSON body), even where it needs none.
    assert.deepEqual(statuses('/v1/runs/{id}/cancel', 'post'), ['202', '400', '401', '404', '409', '413', '415', '429', '503']);
    assert.deepEqual(statuses('/v1/pipelines/{id}', 'put'), ['200', '201', '400', '401', '413', '415', '429', '503']);
    assert.deepEqual(statuses('/v1/pipelines/{id}', 'delete'), ['204', '400', '401', '404', '413', '415', '429', '503']);
    assert.deepEqual(statuses('/v1/pipelines/{id}/trigger', 'post'), ['202', '400', '401', '404', '409', '413', '415', '429', '503']);
    assert.deepEqual(statuses('/v1/pipelines', 'get'), ['200', '400', '401', '429', '503']);
    // The streamed forms are where a client generator reads them: NDJSON in beside JSON, results out as NDJSON only.
    const operation = (route: string, method: string) =>
      doc.paths[route]?.[method] as
        | { requestBody?: { content?: Record<string, { schema?: { type?: string } }> }; parameters?: Array<{ name: string; in: string; schema?: { enum?: unknown } }>; responses?: Record<string, { content?: Record<string, unknown> }> }
        | undefined;
    const runPost = operation('/v1/runs', 'post');
    assert.deepEqual(Object.keys(runPost?.requestBody?.content ?? {}).sort(), ['application/json', 'application/x-ndjson']);
    assert.equal(runPost?.requestBody?.content?.['application/x-ndjson']?.schema?.type, 'string');
    assert.deepEqual(runPost?.parameters?.find((parameter) => parameter.name === 'endpoint' && parameter.in === 'query')?.schema?.enum, [...BATCH_ENDPOINTS]);
    const results = operation('/v1/runs/{id}/results', 'get')?.responses;
    assert.deepEqual(Object.keys(results?.['200']?.content ?? {}), ['application/x-ndjson']);
    assert.deepEqual(Object.keys(results?.['404']?.content ?? {}), ['application/json']);
    // What needs no token says so: the probes, the scrape and the signed webhook.
    const security = (route: string, method: string): unknown => (doc.paths[route]?.[method] as { security?: unknown } | undefined)?.security;
    for (const [method, route] of [['get', '/healthz'], ['get', '/readyz'], ['get', '/metrics'], ['post', '/v1/webhooks/openai']] as const) {
      assert.deepEqual(security(route, method), [], `${method.toUpperCase()} ${route} is documented as needing a token`);
    }
    assert.equal(security('/v1/runs', 'post'), undefined, 'API routes keep the document-wide bearer requirement');
    const ui = await t.service.app.inject({ method: 'GET', url: '/docs/' });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.body, /swagger/i);
  });
});
