import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
});
