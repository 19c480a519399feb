import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../../helpers/test-service.js';
import type { PipelineView } from '../../../src/pipelines/pipeline-registry.js';
import { PipelineStore, type PipelineRecord } from '../../../src/pipelines/pipeline-store.js';

interface ErrorBody {
  error: { code: string; message: string };
}

describe('a pipeline read with GET and sent back with PUT', () => {
  let t: TestService;
  let store: PipelineStore;
  before(async () => {
    t = await startTestService({ role: 'api' });
    store = new PipelineStore(t.service.deps.redis, t.prefix);
  });
  after(async () => {
    await t.close();
  });

  const stored = async (id: string): Promise<PipelineRecord> => {
    const record = await store.get(id);
    assert.ok(record !== null, `pipeline ${id} is stored`);
    return record;
  };
  const read = async (id: string): Promise<PipelineView> => {
    const response = await t.request('GET', `/v1/pipelines/${id}`);
    assert.equal(response.status, 200, response.text);
    return response.body as PipelineView;
  };

  it('is accepted unchanged, keeps the stored Slack webhook URL, and changes nothing', async () => {
    const defined = await t.request('PUT', '/v1/pipelines/moderation', {
      schedule: { every: '6h' },
      source: { type: 's3', bucket: 'uploads', prefix: 'images/' },
      template: { type: 'image-moderation' },
      output: { url: `file://${t.storageDir}/out` },
      notify: { slack_webhook_url: t.slack.url },
    });
    assert.equal(defined.status, 201, defined.text);
    const before = await stored('moderation');

    const view = await read('moderation');
    assert.notEqual(view.notify?.slack_webhook_url, t.slack.url, 'GET shows the webhook URL masked');
    const again = await t.request('PUT', '/v1/pipelines/moderation', view);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, view, 'the same pipeline, next run and updated_at included');
    assert.deepEqual(await stored('moderation'), before);
  });

  it('a round trip of a pipeline whose parts are absent (null in GET) keeps them absent', async () => {
    const defined = await t.request('PUT', '/v1/pipelines/greetings', { template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Greet {{name}}' } });
    assert.equal(defined.status, 201, defined.text);
    const view = await read('greetings');
    assert.equal(view.schedule, null);
    assert.equal(view.source, null);
    assert.equal(view.output, null);
    assert.equal(view.notify, null);
    const before = await stored('greetings');

    const again = await t.request('PUT', '/v1/pipelines/greetings', view);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(await stored('greetings'), before);

    // Editing a GET body: setting a part that was null, then nulling it again.
    const withNotify = await t.request('PUT', '/v1/pipelines/greetings', { ...view, notify: { slack_webhook_url: t.slack.url } });
    assert.equal(withNotify.status, 200, withNotify.text);
    assert.equal((await stored('greetings')).definition.notify?.slack_webhook_url, t.slack.url);
    const roundTrip = await t.request('PUT', '/v1/pipelines/greetings', await read('greetings'));
    assert.equal(roundTrip.status, 200, roundTrip.text);

    // Notifications still go to the real URL: a run of the pipeline carries it, not the mask.
    const run = await t.postRun({ pipeline: 'greetings', items: [{ id: 'a', name: 'Ada' }] });
    assert.equal((await t.service.deps.ledger.getRun(run.id))?.slack_webhook_url, t.slack.url);

    const withoutNotify = await t.request('PUT', '/v1/pipelines/greetings', { ...(await read('greetings')), notify: null });
    assert.equal(withoutNotify.status, 200, withoutNotify.text);
    assert.equal((await stored('greetings')).definition.notify, undefined);
  });

  it('refuses a masked webhook URL that is not the mask of the pipeline\'s own, and stores nothing', async () => {
    const slackUrl = 'https://hooks.slack.com/services/T0/B0/SECRET1';
    assert.equal((await t.request('PUT', '/v1/pipelines/alerts', { template: { type: 'summarize' }, notify: { slack_webhook_url: slackUrl } })).status, 201);
    const mask = (await read('alerts')).notify?.slack_webhook_url;
    assert.ok(mask !== undefined && mask.includes('…'), `masked: ${mask}`);
    const before = await stored('alerts');

    const cases: Array<{ name: string; id: string; url: string }> = [
      { name: 'a mask of another URL', id: 'alerts', url: 'https://hooks.slack.com/…ECRX' },
      { name: 'a mask edited by hand', id: 'alerts', url: `${mask}/more` },
      { name: 'the mask for a pipeline that has none stored', id: 'new-alerts', url: mask },
    ];
    for (const { name, id, url } of cases) {
      const refused = await t.request('PUT', `/v1/pipelines/${id}`, { template: { type: 'summarize' }, notify: { slack_webhook_url: url } });
      assert.equal(refused.status, 400, `${name}: ${refused.text}`);
      const { error } = refused.body as ErrorBody;
      assert.equal(error.code, 'invalid_pipeline', name);
      assert.match(error.message, /^notify\.slack_webhook_url: is masked, as GET shows it, not a webhook URL: give the full URL/, name);
    }
    assert.deepEqual(await stored('alerts'), before);
    assert.equal(await store.get('new-alerts'), null);

    // A new URL replaces the stored one as before.
    const replaced = await t.request('PUT', '/v1/pipelines/alerts', { template: { type: 'summarize' }, notify: { slack_webhook_url: 'https://hooks.slack.com/services/T0/B0/SECRET2' } });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal((await stored('alerts')).definition.notify?.slack_webhook_url, 'https://hooks.slack.com/services/T0/B0/SECRET2');
  });

  it('ignores the read-only fields, but refuses an id that is not the one in the path', async () => {
    const view = await read('moderation');
    const before = await stored('moderation');
    const edited = await t.request('PUT', '/v1/pipelines/moderation', {
      ...view,
      origin: 'file',
      created_at: '2000-01-01T00:00:00.000Z',
      updated_at: '2000-01-01T00:00:00.000Z',
      next_run_at: null,
      last_collection: { finished_at: '2000-01-01T00:00:00.000Z', job_id: 'j', outcome: 'failed', run_id: null, items: 0, error: { code: 'source_not_found', message: 'gone' }, will_retry: false },
    });
    assert.equal(edited.status, 200, edited.text);
    assert.equal((edited.body as PipelineView).last_collection, null, 'the last collection is the worker\'s to write');
    assert.deepEqual(await stored('moderation'), before, 'origin and times are the server\'s');

    const copied = await t.request('PUT', '/v1/pipelines/moderation-copy', view);
    assert.equal(copied.status, 400, copied.text);
    const { error } = copied.body as ErrorBody;
    assert.equal(error.code, 'invalid_pipeline');
    assert.match(error.message, /^id: "moderation" is not the id in the path \("moderation-copy"\)/);
    assert.equal(await store.get('moderation-copy'), null);

    const badType = await t.request('PUT', '/v1/pipelines/moderation', { ...view, origin: 'elsewhere' });
    assert.equal(badType.status, 400, badType.text);
    assert.match((badType.body as ErrorBody).error.message, /^origin: /);
  });

  it('null is the default for enabled, ignored for a read-only field, and a null webhook URL removes the webhook', async () => {
    const slackUrl = 'https://hooks.slack.com/services/T0/B0/SECRET3';
    const defined = await t.request('PUT', '/v1/pipelines/nulled', { template: { type: 'summarize' }, notify: { slack_webhook_url: slackUrl }, enabled: false });
    assert.equal(defined.status, 201, defined.text);
    const view = await read('nulled');

    // A GET body with the webhook URL nulled, as a user editing it would: the webhook goes, as with notify: null.
    const nulled = await t.request('PUT', '/v1/pipelines/nulled', {
      ...view,
      notify: { slack_webhook_url: null },
      enabled: null,
      id: null,
      origin: null,
      created_at: null,
      updated_at: null,
    });
    assert.equal(nulled.status, 200, nulled.text);
    const after = nulled.body as PipelineView;
    assert.equal(after.notify, null);
    assert.equal(after.enabled, true, 'enabled: null is the default');
    assert.equal(after.id, 'nulled');
    assert.equal(after.origin, 'api');
    assert.equal(after.created_at, view.created_at, 'the server keeps its own times');
    const record = await stored('nulled');
    assert.deepEqual(Object.keys(record.definition).sort(), ['enabled', 'template']);

    // An empty notify still names no URL: refused rather than guessed at.
    const empty = await t.request('PUT', '/v1/pipelines/nulled', { template: { type: 'summarize' }, notify: {} });
    assert.equal(empty.status, 400, empty.text);
    assert.match((empty.body as ErrorBody).error.message, /^notify\.slack_webhook_url: /);
    assert.deepEqual(await stored('nulled'), record);
  });

  it('null means absent for every part: a schedule with a null source still needs a source', async () => {
    const refused = await t.request('PUT', '/v1/pipelines/nightly', { schedule: { every: '1d' }, source: null, template: { type: 'summarize' } });
    assert.equal(refused.status, 400, refused.text);
    assert.equal((refused.body as ErrorBody).error.message, 'schedule: a schedule needs a "source" to collect from');
    const accepted = await t.request('PUT', '/v1/pipelines/nightly', { schedule: null, source: null, template: { type: 'summarize' }, output: null, notify: null });
    assert.equal(accepted.status, 201, accepted.text);
    assert.deepEqual(Object.keys((await stored('nightly')).definition).sort(), ['enabled', 'template']);
  });
});
