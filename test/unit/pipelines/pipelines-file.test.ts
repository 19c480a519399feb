import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../../src/config.js';
import { readPipelinesFile } from '../../../src/pipelines/pipelines-file.js';

describe('PIPELINES_FILE', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'batchline-pipelines-file-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = async (name: string, text: string): Promise<string> => {
    const target = path.join(dir, name);
    await writeFile(target, text);
    return target;
  };

  it('reads YAML and JSON with the API schema, defaults filled in', async () => {
    const yaml = await file('pipelines.yaml', `
pipelines:
  image-moderation:
    schedule: { cron: "0 */6 * * *", tz: Europe/Paris }
    source: { type: s3, bucket: uploads, prefix: images/, suffixes: [.png, .jpg] }
    template: { type: image-moderation }
    output: { url: "s3://moderation-results/" }
  articles:
    template: { type: summarize }
`);
    const fromYaml = await readPipelinesFile(yaml);
    assert.deepEqual([...fromYaml.keys()], ['image-moderation', 'articles']);
    const moderation = fromYaml.get('image-moderation');
    assert.equal(moderation?.enabled, true);
    assert.equal(moderation?.template.model, 'gpt-4o-mini');
    assert.deepEqual(moderation?.schedule, { cron: '0 */6 * * *', tz: 'Europe/Paris' });

    const json = await file('pipelines.json', JSON.stringify({ pipelines: { articles: { template: { type: 'summarize' } } } }));
    assert.deepEqual([...(await readPipelinesFile(json)).keys()], ['articles']);
  });

  it('names the file and every bad field, and refuses the whole file', async () => {
    const bad = await file('bad.yaml', `
pipelines:
  good: { template: { type: summarize } }
  nightly:
    schedule: { cron: "0 25 * * *" }
    source: { type: s3, prefix: x/ }
    template: { type: summarize }
  "bad id!": { template: { type: summarize } }
`);
    await assert.rejects(readPipelinesFile(bad), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /^PIPELINES_FILE .*bad\.yaml: /);
      assert.match(error.message, /pipelines\.nightly\.schedule\.cron: invalid cron expression/);
      assert.match(error.message, /pipelines\.nightly\.source\.bucket/);
      assert.match(error.message, /pipelines\."bad id!": the pipeline id must be/);
      return true;
    });
  });

  it('takes the same definition as PUT: null parts are absent; the fields GET adds and masked webhook URLs are refused', async () => {
    const nulls = await file('nulls.yaml', `
pipelines:
  articles:
    schedule: ~
    source: null
    template: { type: summarize }
    output:
    notify: null
`);
    const articles = (await readPipelinesFile(nulls)).get('articles');
    assert.deepEqual(articles?.schedule, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(articles)), { template: articles?.template, enabled: true });

    // The id is the key and the rest is the server's: a file is definitions only.
    const served = await file('served.yaml', `
pipelines:
  articles:
    id: articles
    template: { type: summarize }
    origin: api
    created_at: "2026-01-02T03:04:05.000Z"
  alerts:
    template: { type: summarize }
    notify: { slack_webhook_url: "https://hooks.slack.com/…B0/X" }
`);
    await assert.rejects(readPipelinesFile(served), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /pipelines\.articles: unknown fields "id", "origin", "created_at"/);
      assert.match(error.message, /pipelines\.alerts\.notify\.slack_webhook_url: is masked, as GET shows it/);
      return true;
    });
  });

  it('takes the API\'s nulls: enabled null is true, a null webhook URL is no webhook; read-only fields stay refused, null or not', async () => {
    const nulls = await file('more-nulls.yaml', `
pipelines:
  articles:
    template: { type: summarize }
    enabled:
    notify: { slack_webhook_url: null }
`);
    const articles = (await readPipelinesFile(nulls)).get('articles');
    assert.deepEqual(JSON.parse(JSON.stringify(articles)), { template: articles?.template, enabled: true });

    const readOnly = await file('read-only-nulls.yaml', `
pipelines:
  articles:
    template: { type: summarize }
    id: null
    updated_at: null
`);
    await assert.rejects(readPipelinesFile(readOnly), /pipelines\.articles: unknown fields "id", "updated_at"/);
  });

  it('refuses a cron expression of any other number of fields than the API does', async () => {
    const short = await file('short-cron.yaml', `
pipelines:
  every-minute:
    schedule: { cron: "* * *" }
    source: { type: local, path: /data/in }
    template: { type: summarize }
  friday:
    schedule: { cron: "5" }
    source: { type: local, path: /data/in }
    template: { type: summarize }
  daily:
    schedule: { cron: "@daily" }
    source: { type: local, path: /data/in }
    template: { type: summarize }
`);
    await assert.rejects(readPipelinesFile(short), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /pipelines\.every-minute\.schedule\.cron: invalid cron expression "\* \* \*": has 3 fields; expected 5 /);
      assert.match(error.message, /pipelines\.friday\.schedule\.cron: invalid cron expression "5": has 1 field; expected 5 /);
      assert.doesNotMatch(error.message, /pipelines\.daily/);
      return true;
    });
  });

  it('refuses files that are not { pipelines: { … } }', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['list.yaml', '- a\n- b\n', /must hold an object/],
      ['extra.yaml', 'pipelines: {}\nversion: 2\n', /unknown field "version"/],
      ['array.json', '{"pipelines": [{"id": "a"}]}', /pipelines: must be an object of pipeline id/],
      ['broken.json', '{"pipelines": ', /is not valid JSON/],
      ['broken.yaml', 'pipelines: [', /is not valid YAML/],
    ];
    for (const [name, text, message] of cases) {
      await assert.rejects(readPipelinesFile(await file(name, text)), (error: unknown) => error instanceof ConfigError && message.test(error.message), name);
    }
    await assert.rejects(readPipelinesFile(path.join(dir, 'missing.yaml')), /cannot be read/);
  });
});
