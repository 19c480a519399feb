import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../../helpers/test-service.js';
import type { PipelineView } from '../../../src/pipelines/pipeline-registry.js';
import type { RunView } from '../../../src/runs/run-view.js';

interface ErrorBody {
  error: { code: string; message: string };
}

const imagePipeline = {
  schedule: { cron: '0 */6 * * *', tz: 'Europe/Paris' },
  source: { type: 's3', bucket: 'uploads', prefix: 'images/' },
  template: { type: 'image-moderation', model: 'gpt-4o-mini' },
  output: { url: 's3://moderation-results/' },
  notify: { slack_webhook_url: 'https://hooks.slack.com/services/T0/B0/X' },
};

describe('pipelines API', () => {
  let t: TestService;
  before(async () => {
    // API only: scheduled and triggered collections stay queued where the test can inspect them.
    t = await startTestService({ role: 'api' });
  });
  after(async () => {
    await t.close();
  });

  const schedulerCount = () => t.service.deps.queues.collect.getJobSchedulersCount();

  it('PUT creates (201) then replaces (200) a pipeline, with one schedule throughout', async () => {
    const created = await t.request('PUT', '/v1/pipelines/image-moderation', imagePipeline);
    assert.equal(created.status, 201, created.text);
    const view = created.body as PipelineView;
    assert.equal(view.id, 'image-moderation');
    assert.deepEqual(view.schedule, imagePipeline.schedule);
    assert.equal(view.template.type, 'image-moderation');
    assert.equal(view.enabled, true);
    assert.equal(view.origin, 'api');
    // The webhook URL is a credential: shown masked, never whole.
    assert.deepEqual(view.notify, { slack_webhook_url: 'https://hooks.slack.com/…B0/X' });
    assert.ok(view.next_run_at !== null && Date.parse(view.next_run_at) > Date.now(), `next_run_at ${view.next_run_at}`);
    // A cron schedule at minute 0 of every 6th hour, Paris time.
    assert.equal(new Date(view.next_run_at).getUTCMinutes(), 0);
    assert.equal(await schedulerCount(), 1);

    const again = await t.request('PUT', '/v1/pipelines/image-moderation', imagePipeline);
    assert.equal(again.status, 200, again.text);
    assert.equal((again.body as PipelineView).created_at, view.created_at);
    assert.equal(await schedulerCount(), 1);

    const changed = await t.request('PUT', '/v1/pipelines/image-moderation', { ...imagePipeline, schedule: { cron: '30 2 * * *' } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(await schedulerCount(), 1);
    const scheduler = await t.service.deps.queues.collect.getJobScheduler('pipeline-image-moderation');
    assert.equal(scheduler?.pattern, '30 2 * * *');
    assert.equal(scheduler?.tz, undefined);
    assert.deepEqual(scheduler?.template?.data, { pipelineId: 'image-moderation', trigger: 'schedule' });

    const fetched = await t.request('GET', '/v1/pipelines/image-moderation');
    assert.equal(fetched.status, 200);
    assert.deepEqual((fetched.body as PipelineView).schedule, { cron: '30 2 * * *' });
    assert.equal((fetched.body as PipelineView).next_run_at, new Date(scheduler?.next ?? 0).toISOString());
  });

  it('an every schedule, disabling and re-enabling, listing', async () => {
    const every = await t.request('PUT', '/v1/pipelines/articles', {
      schedule: { every: '6h' },
      source: { type: 'local', path: '/srv/articles' },
      template: { type: 'summarize' },
    });
    assert.equal(every.status, 201, every.text);
    assert.equal((await t.service.deps.queues.collect.getJobScheduler('pipeline-articles'))?.every, 6 * 3600_000);
    assert.equal(await schedulerCount(), 2);

    const disabled = await t.request('PUT', '/v1/pipelines/articles', {
      schedule: { every: '6h' },
      source: { type: 'local', path: '/srv/articles' },
      template: { type: 'summarize' },
      enabled: false,
    });
    assert.equal(disabled.status, 200, disabled.text);
    assert.equal((disabled.body as PipelineView).next_run_at, null);
    assert.equal(await schedulerCount(), 1);

    const listed = await t.request('GET', '/v1/pipelines');
    assert.equal(listed.status, 200);
    const list = listed.body as { object: string; data: PipelineView[] };
    assert.deepEqual(list.data.map((pipeline) => pipeline.id), ['articles', 'image-moderation']);
    assert.equal(list.data[0]?.next_run_at, null);
    assert.ok(list.data[1]?.next_run_at !== null);
  });

  it('bad definitions are a 400 naming the field, and nothing is stored or scheduled', async () => {
    const good = { source: { type: 'local', path: '/data/in' }, template: { type: 'summarize' } };
    const cases: Array<{ name: string; id?: string; body: unknown; field: RegExp }> = [
      { name: 'unknown source type', body: { ...good, source: { type: 'ftp', host: 'x' } }, field: /source\.type/ },
      { name: 'invalid cron', body: { ...good, schedule: { cron: '61 * * * *' } }, field: /schedule\.cron: invalid cron expression "61 \* \* \* \*"/ },
      { name: 'cron of one field', body: { ...good, schedule: { cron: '5' } }, field: /^schedule\.cron: invalid cron expression "5": has 1 field; expected 5 / },
      { name: 'cron of two fields', body: { ...good, schedule: { cron: '* *' } }, field: /^schedule\.cron: invalid cron expression "\* \*": has 2 fields; expected 5 / },
      { name: 'cron of seven fields', body: { ...good, schedule: { cron: '0 0 0 * * * 2030' } }, field: /^schedule\.cron: invalid cron expression "0 0 0 \* \* \* 2030": has 7 fields; expected 5 / },
      { name: 'cron of words', body: { ...good, schedule: { cron: 'every day' } }, field: /schedule\.cron/ },
      { name: 'unknown time zone', body: { ...good, schedule: { cron: '0 * * * *', tz: 'Mars/Olympus' } }, field: /schedule\.tz/ },
      { name: 'every too short', body: { ...good, schedule: { every: '500ms' } }, field: /schedule\.every: must be at least 1s/ },
      { name: 'every not a duration', body: { ...good, schedule: { every: 'often' } }, field: /schedule\.every/ },
      { name: 'cron and every', body: { ...good, schedule: { cron: '0 * * * *', every: '1h' } }, field: /schedule\.every/ },
      { name: 'missing bucket', body: { ...good, source: { type: 's3', prefix: 'images/' } }, field: /source\.bucket/ },
      { name: 'unknown template field', body: { ...good, template: { type: 'summarize', temprature: 0.2 } }, field: /template: unknown field "temprature"/ },
      {
        name: 'a placeholder no item provides',
        body: { ...good, template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Describe {{key}}: {{caption}}' } },
        field: /template\.prompt: placeholder \{\{caption\}\}/,
      },
      {
        name: 'content_type without a content-type filter',
        body: { source: { type: 's3', bucket: 'uploads' }, template: { type: 'embeddings', model: 'text-embedding-3-small', input: '{{content_type}}' } },
        field: /template\.input: placeholder \{\{content_type\}\}/,
      },
      { name: 'a schedule without a source', body: { schedule: { every: '1h' }, template: { type: 'summarize' } }, field: /schedule: a schedule needs a "source"/ },
      { name: 'bad output url', body: { ...good, output: { url: 'ftp://elsewhere' } }, field: /^output\.url: the URL "ftp:\/\/elsewhere" is not valid: unsupported scheme/ },
      { name: 'bad Slack url', body: { ...good, notify: { slack_webhook_url: 'not a url' } }, field: /notify\.slack_webhook_url/ },
      { name: 'unknown top-level field', body: { ...good, cron: '0 * * * *' }, field: /body: unknown field "cron"/ },
      { name: 'missing template', body: { source: good.source }, field: /template/ },
      { name: 'not an object', body: [good], field: /the body must be a JSON object/ },
      { name: 'bad id', id: 'has:colon', body: good, field: /pipeline id "has:colon"/ },
    ];
    for (const { name, id, body, field } of cases) {
      const response = await t.request('PUT', `/v1/pipelines/${encodeURIComponent(id ?? 'bad-one')}`, body);
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.match((response.body as ErrorBody).error.message, field, name);
      assert.doesNotMatch((response.body as ErrorBody).error.message, /(\w+\.\w+)\b.*\b\1\b/, `${name}: the field is named once`);
    }
    assert.equal((await t.request('GET', '/v1/pipelines/bad-one')).status, 404);
    assert.equal(await t.service.deps.queues.collect.getJobScheduler('pipeline-bad-one'), undefined);

    // A bad replacement leaves the pipeline as it was.
    const before = (await t.request('GET', '/v1/pipelines/image-moderation')).body as PipelineView;
    const refused = await t.request('PUT', '/v1/pipelines/image-moderation', { ...imagePipeline, schedule: { cron: 'nope' } });
    assert.equal(refused.status, 400);
    assert.deepEqual((await t.request('GET', '/v1/pipelines/image-moderation')).body, before);
  });

  it('a bad part is reported alone, without the rules between parts', async () => {
    // Without a source a schedule is refused too, but a bad cron expression or a misspelt field is the thing to fix first.
    const cases: Array<{ name: string; body: unknown; message: string }> = [
      {
        name: 'the documented cron error',
        body: { schedule: { cron: '61 * * * *' }, template: { type: 'summarize' } },
        message: 'schedule.cron: invalid cron expression "61 * * * *": Constraint error, got value 61 expected range 0-59',
      },
      {
        name: 'a cron expression of three fields, which cron-parser would pad to every minute',
        body: { schedule: { cron: '* * *' }, template: { type: 'summarize' } },
        message:
          'schedule.cron: invalid cron expression "* * *": has 3 fields; expected 5 (minute hour day-of-month month day-of-week), 6 with seconds first, or one of @yearly, @annually, @monthly, @weekly, @daily, @hourly, @minutely, @secondly, @weekdays, @weekends',
      },
      { name: 'a bad duration', body: { schedule: { every: 'often' }, template: { type: 'summarize' } }, message: 'schedule.every: "often" is not a duration such as "6h", "30m", "15s" or "1h30m"' },
      { name: 'a misspelt template field', body: { schedule: { every: '1h' }, template: { type: 'summarize', modle: 'x' } }, message: 'template: unknown field "modle"' },
      {
        name: 'a body parameter OpenAI would refuse in every request',
        body: { template: { type: 'summarize', body: { temperature: 'hot' } } },
        message: 'template.body.temperature: Invalid input: expected number, received string',
      },
      {
        name: 'a body parameter the template sets itself',
        body: { template: { type: 'summarize', max_tokens: 100, body: { max_tokens: 500 } } },
        message: 'template.body.max_tokens: body may not override "max_tokens": set the template\'s "max_tokens" instead',
      },
      { name: 'a schedule that really has no source', body: { schedule: { every: '1h' }, template: { type: 'summarize' } }, message: 'schedule: a schedule needs a "source" to collect from' },
    ];
    for (const { name, body, message } of cases) {
      const response = await t.request('PUT', '/v1/pipelines/alone', body);
      assert.equal(response.status, 400, `${name}: ${response.text}`);
      assert.deepEqual(response.body, { error: { code: 'invalid_pipeline', message } }, name);
    }
  });

  it('a cron expression of five fields, six with seconds first, or a macro is scheduled as given', async () => {
    const source = { type: 'local', path: '/srv/cron' };
    for (const cron of ['0 3 * * *', '30 0 3 * * *', '@hourly']) {
      const response = await t.request('PUT', '/v1/pipelines/cron-forms', { schedule: { cron }, source, template: { type: 'summarize' } });
      assert.ok(response.status === 201 || response.status === 200, `${cron}: ${response.text}`);
      assert.equal((await t.service.deps.queues.collect.getJobScheduler('pipeline-cron-forms'))?.pattern, cron);
    }
    assert.equal((await t.request('DELETE', '/v1/pipelines/cron-forms')).status, 204);
  });

  it('a bad pipeline id is invalid_pipeline_id on every pipeline route', async () => {
    const routes: Array<['GET' | 'PUT' | 'DELETE' | 'POST', string]> = [
      ['PUT', '/v1/pipelines/has:colon'],
      ['GET', '/v1/pipelines/has:colon'],
      ['DELETE', '/v1/pipelines/has:colon'],
      ['POST', '/v1/pipelines/has:colon/trigger'],
      ['GET', `/v1/pipelines/${'x'.repeat(65)}`],
    ];
    for (const [method, url] of routes) {
      const response = await t.request(method, url, method === 'PUT' ? { template: { type: 'summarize' } } : undefined);
      assert.equal(response.status, 400, `${method} ${url}: ${response.text}`);
      const { error } = response.body as ErrorBody;
      assert.equal(error.code, 'invalid_pipeline_id', `${method} ${url}`);
      assert.match(error.message, /^pipeline id "[^"]+" must be 1-64 letters, digits, "_" or "-"$/, `${method} ${url}`);
    }
  });

  it('a definition over the body limit is a 413 that speaks of pipelines, not runs', async () => {
    const response = await t.request('PUT', '/v1/pipelines/huge', { template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'x'.repeat(1_100_000) } });
    assert.equal(response.status, 413, response.text);
    const { error } = response.body as ErrorBody;
    assert.equal(error.code, 'body_too_large');
    assert.match(error.message, /^a pipeline definition is at most 1048576 bytes; items to process go in a run/);
    assert.doesNotMatch(error.message, /NDJSON/);
    // Runs keep the shared answer, which states the limit and offers NDJSON where runs are posted.
    const run = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ id: 'a', text: 'x'.repeat(70_000_000) }] });
    assert.equal(run.status, 413, run.text.slice(0, 200));
    assert.equal((run.body as ErrorBody).error.message, "the body is over this route's limit of 64 MiB (67108864 bytes); send large runs as NDJSON");
  });

  it('a placeholder template with a content-type filter may use content_type', async () => {
    const response = await t.request('PUT', '/v1/pipelines/typed', {
      source: { type: 's3', bucket: 'uploads', content_types: ['image/*'] },
      template: { type: 'chat', model: 'gpt-4o-mini', prompt: '{{key}} is {{content_type}}, {{size}} bytes' },
    });
    assert.equal(response.status, 201, response.text);
    assert.equal((response.body as PipelineView).next_run_at, null);
  });

  it('trigger enqueues a collection with its own job id; 404 and 409 otherwise', async () => {
    const missing = await t.request('POST', '/v1/pipelines/nope/trigger');
    assert.equal(missing.status, 404);
    assert.equal((missing.body as ErrorBody).error.code, 'not_found');

    const first = await t.request('POST', '/v1/pipelines/image-moderation/trigger');
    const second = await t.request('POST', '/v1/pipelines/image-moderation/trigger');
    assert.equal(first.status, 202, first.text);
    const a = first.body as { pipeline_id: string; job_id: string };
    const b = second.body as { pipeline_id: string; job_id: string };
    assert.equal(a.pipeline_id, 'image-moderation');
    assert.notEqual(a.job_id, b.job_id);
    const job = await t.service.deps.queues.collect.getJob(a.job_id);
    assert.deepEqual(job?.data, { pipelineId: 'image-moderation', trigger: 'manual' });

    await t.request('PUT', '/v1/pipelines/posted-only', { template: { type: 'summarize' } });
    const noSource = await t.request('POST', '/v1/pipelines/posted-only/trigger');
    assert.equal(noSource.status, 409, noSource.text);
    assert.equal((noSource.body as ErrorBody).error.code, 'no_source');
  });

  it('POST /v1/runs { pipeline, items } applies the pipeline template, notification and output', async () => {
    const defined = await t.request('PUT', '/v1/pipelines/greetings', {
      template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Greet {{name}}' },
      notify: { slack_webhook_url: t.slack.url },
      output: { url: `file://${t.storageDir}/out` },
    });
    assert.equal(defined.status, 201, defined.text);

    const posted = await t.request('POST', '/v1/runs', { pipeline: 'greetings', items: [{ id: 'a', name: 'Ada' }, { id: 'b', name: 'Bo' }] });
    assert.equal(posted.status, 202, posted.text);
    const run = posted.body as RunView;
    assert.equal(run.pipeline_id, 'greetings');
    assert.equal(run.counts.items, 2);
    const record = await t.service.deps.ledger.getRun(run.id);
    assert.equal(record?.template?.type, 'chat');
    assert.equal(record?.slack_webhook_url, t.slack.url);
    assert.equal(record?.output_url, `file://${t.storageDir}/out`);

    const missingField = await t.request('POST', '/v1/runs', { pipeline: 'greetings', items: [{ id: 'a' }] });
    assert.equal(missingField.status, 400);
    assert.match((missingField.body as ErrorBody).error.message, /items\[0\] has no field "name"/);
    const unknown = await t.request('POST', '/v1/runs', { pipeline: 'nope', items: [{ id: 'a' }] });
    assert.equal(unknown.status, 404);
  });

  it('the OpenAPI document describes the pipeline routes', async () => {
    const doc = (await t.request('GET', '/docs/json')).body as { paths: Record<string, Record<string, unknown>> };
    assert.ok(doc.paths['/v1/pipelines/{id}']?.['put'] !== undefined);
    assert.ok(doc.paths['/v1/pipelines/{id}']?.['delete'] !== undefined);
    assert.ok(doc.paths['/v1/pipelines']?.['get'] !== undefined);
    assert.ok(doc.paths['/v1/pipelines/{id}/trigger']?.['post'] !== undefined);
    // PUT documents a body that takes what GET returns.
    type ObjectSchema = { properties: Record<string, { nullable?: boolean }> };
    const put = doc.paths['/v1/pipelines/{id}']?.['put'] as { requestBody: { content: Record<string, { schema: ObjectSchema }> } };
    const get = doc.paths['/v1/pipelines/{id}']?.['get'] as { responses: Record<string, { content: Record<string, { schema: ObjectSchema }> }> };
    const body = put.requestBody.content['application/json']?.schema.properties ?? {};
    assert.deepEqual(Object.keys(body).sort(), Object.keys(get.responses['200']?.content['application/json']?.schema.properties ?? {}).sort());
    for (const part of ['schedule', 'source', 'output', 'notify', 'enabled', 'id', 'origin', 'created_at', 'updated_at']) assert.equal(body[part]?.nullable, true, part);
  });

  it('DELETE removes the pipeline and its schedule', async () => {
    const schedulersBefore = await schedulerCount();
    const deleted = await t.request('DELETE', '/v1/pipelines/image-moderation');
    assert.equal(deleted.status, 204);
    assert.equal(deleted.text, '');
    assert.equal(await schedulerCount(), schedulersBefore - 1);
    assert.equal(await t.service.deps.queues.collect.getJobScheduler('pipeline-image-moderation'), undefined);
    assert.equal((await t.request('GET', '/v1/pipelines/image-moderation')).status, 404);
    assert.equal((await t.request('DELETE', '/v1/pipelines/image-moderation')).status, 404);
  });
});
