import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_SETTLE_SECONDS } from '../../../src/pipelines/sources/source-definition.js';
import { watchCollectJobs, type CollectJobs } from '../../helpers/collect-jobs.js';
import { readRunItems } from '../../helpers/run-items.js';
import { startTestService, type TestService } from '../../helpers/test-service.js';

/** The embedded default: items are the files under a local folder, recursively. */
describe('collecting from a local folder', () => {
  let t: TestService;
  let jobs: CollectJobs;
  let folder: string;
  /** One fixed modification time for every file: new files that share it with collected ones must still count. */
  const sameSecond = new Date('2026-01-02T03:04:05.000Z');

  const write = async (relative: string, body: string): Promise<void> => {
    const file = path.join(folder, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, body);
    await utimes(file, sameSecond, sameSecond);
  };

  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'batchline-local-source-'));
    await write('a.txt', 'alpha');
    await write('nested/deeper/b.txt', 'bravo');
    await write('.hidden.txt', 'editor swap file');
    t = await startTestService();
    jobs = await watchCollectJobs(t, t.redis.url, t.prefix);
    const defined = await t.request('PUT', '/v1/pipelines/folder', {
      source: { type: 'local', path: folder },
      template: { type: 'chat', model: 'gpt-4o-mini', prompt: 'Name {{key}}' },
      notify: { slack_webhook_url: t.slack.url },
    });
    assert.equal(defined.status, 201, defined.text);
  });
  after(async () => {
    await jobs?.close();
    await t?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('collects the files of every subfolder, skipping dotfiles, and the run succeeds', async () => {
    const outcome = await jobs.trigger('folder');
    assert.equal(outcome.items, 2);
    const items = await readRunItems(t.service.deps, outcome.runId ?? '');
    assert.deepEqual(items.map((item) => item.key), ['a.txt', 'nested/deeper/b.txt']);
    assert.equal(items[0]?.last_modified, sameSecond.toISOString());
    const run = await t.waitForRunEnd(outcome.runId ?? '');
    assert.equal(run.status, 'succeeded');
    assert.match(await t.slack.waitFor((text) => text.includes(run.id)), /Pipeline \*folder\*/);
  });

  it('a new file with the same modification time as the collected ones is not missed', async () => {
    await write('nested/c.txt', 'charlie');
    const outcome = await jobs.trigger('folder');
    assert.equal(outcome.items, 1);
    assert.deepEqual((await readRunItems(t.service.deps, outcome.runId ?? '')).map((item) => item.key), ['nested/c.txt']);
  });

  it('a rewritten file is collected again; an untouched folder gives no run', async () => {
    await write('a.txt', 'alpha, rewritten');
    const outcome = await jobs.trigger('folder');
    assert.equal(outcome.items, 1);
    assert.deepEqual((await readRunItems(t.service.deps, outcome.runId ?? '')).map((item) => item.key), ['a.txt']);
    assert.equal((await jobs.trigger('folder')).runId, null);
  });

  it('a file still being written is left for a later collection, then collected once, whole', async () => {
    const file = path.join(folder, 'slow/copying.txt');
    await mkdir(path.dirname(file), { recursive: true });
    // Written in place, a sentence at a time, as cp or scp do: each write is a fresh modification time.
    await writeFile(file, 'One sentence.');
    assert.equal((await jobs.trigger('folder')).runId, null, 'a file modified just now is not collected');
    await appendFile(file, ' Two sentences.');
    assert.equal((await jobs.trigger('folder')).runId, null);

    // The copy ended a while ago: the file has settled.
    const settled = new Date(Date.now() - (DEFAULT_SETTLE_SECONDS + 1) * 1000);
    await utimes(file, settled, settled);
    const outcome = await jobs.trigger('folder');
    assert.equal(outcome.items, 1);
    const items = await readRunItems(t.service.deps, outcome.runId ?? '');
    assert.deepEqual(items.map((item) => [item.key, item.size]), [['slow/copying.txt', 'One sentence. Two sentences.'.length]]);
    assert.equal((await jobs.trigger('folder')).runId, null);
  });

  it('result lines name a stored article by its key and the id its JSON gives it', async () => {
    const articles = await mkdtemp(path.join(tmpdir(), 'batchline-local-articles-'));
    try {
      const put = async (name: string, body: string): Promise<void> => {
        await writeFile(path.join(articles, name), body);
        await utimes(path.join(articles, name), sameSecond, sameSecond);
      };
      await put('article-001.json', JSON.stringify({ id: 'night-trains', title: 'Night trains', text: 'Night trains are back. Sleeper routes reopen.' }));
      await put('no-id.json', JSON.stringify({ text: 'Rain all week. Farmers are glad.' }));
      await put('plain.txt', 'Bees pollinate crops. Yields depend on them.');
      await put('empty.json', JSON.stringify({ id: 'empty', text: '  ' }));
      const defined = await t.request('PUT', '/v1/pipelines/articles', { source: { type: 'local', path: articles }, template: { type: 'summarize' } });
      assert.equal(defined.status, 201, defined.text);
      const outcome = await jobs.trigger('articles');
      assert.equal((await t.waitForRunEnd(outcome.runId ?? '')).status, 'partial');
      const results = await t.request('GET', `/v1/runs/${outcome.runId}/results`);
      const byKey = new Map(
        results.text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { item: { key: string }; status_code: number | null })
          .map((line) => [line.item.key, line]),
      );
      assert.deepEqual(byKey.get('article-001.json')?.item, { key: 'article-001.json', id: 'night-trains' });
      assert.equal(byKey.get('article-001.json')?.status_code, 200);
      assert.deepEqual(byKey.get('no-id.json')?.item, { key: 'no-id.json' });
      assert.deepEqual(byKey.get('plain.txt')?.item, { key: 'plain.txt' });
      // An article that could not become a request is named by its key alone: its id is read with its text.
      assert.deepEqual(byKey.get('empty.json')?.item, { key: 'empty.json' });
    } finally {
      await rm(articles, { recursive: true, force: true });
    }
  });
});
