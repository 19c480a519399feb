import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueueEvents } from 'bullmq';
import OpenAI from 'openai';
import { startEmulator, type RunningEmulator } from '../../src/emulator/start-emulator.js';
import { nodeHttpFetch } from '../../src/lib/node-http-fetch.js';
import { uploadBatchFile } from '../../src/lib/upload-batch-file.js';
import { progressReporter, type StageProgress } from '../../src/processors/job-progress.js';
import type { RunView } from '../../src/runs/run-view.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

describe('job progress', () => {
  it('reports a percentage with what is counted, at most twice a second, and always at the end', async () => {
    const reported: StageProgress[] = [];
    let now = 1_000;
    const reporter = progressReporter({ updateProgress: async (value) => void reported.push(value as StageProgress) }, 'building', 'items', 400, () => now);
    for (let done = 1; done <= 400; done++) {
      await reporter.report(done);
      now += 5; // 400 items over 2 s
    }
    await reporter.flush(400);
    assert.ok(reported.length >= 4 && reported.length <= 7, `${reported.length} reports`);
    assert.deepEqual(reported[0], { progress: 0, step: 'building', done: 1, total: 400, unit: 'items' });
    assert.deepEqual(reported.at(-1), { progress: 100, step: 'building', done: 400, total: 400, unit: 'items' });
    const percents = reported.map((value) => value.progress);
    assert.deepEqual(percents, [...percents].sort((a, b) => a - b), 'never goes backwards');
    const empty: StageProgress[] = [];
    await progressReporter({ updateProgress: async (value) => void empty.push(value as StageProgress) }, 'joining results', 'requests', 0).flush(0);
    assert.equal(empty[0]?.progress, 100, 'nothing to do is done');
  });

  describe('uploads report the bytes sent', () => {
    let emulator: RunningEmulator;
    let dir: string;
    before(async () => {
      emulator = await startEmulator();
      dir = await mkdtemp(path.join(tmpdir(), 'batchline-upload-progress-'));
    });
    after(async () => {
      await emulator.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('through the SDK and the streaming fetch, as the file goes out', async () => {
      const file = path.join(dir, 'shard.jsonl');
      const line = JSON.stringify({ custom_id: 'x', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'y'.repeat(900) }] } });
      const lines = Array.from({ length: 3000 }, (_, i) => line.replace('"x"', `"r${i}"`));
      await writeFile(file, `${lines.join('\n')}\n`);
      const size = Buffer.byteLength(`${lines.join('\n')}\n`);
      const client = new OpenAI({ apiKey: emulator.apiKey, baseURL: emulator.baseURL, fetch: nodeHttpFetch });
      const sent: number[] = [];
      const uploaded = await uploadBatchFile(client, file, 'shard.jsonl', { onProgress: (bytes) => sent.push(bytes) });
      assert.equal(uploaded.bytes, size);
      assert.ok(sent.length > 5, `${sent.length} progress calls for ${size} bytes`);
      assert.deepEqual(sent, [...sent].sort((a, b) => a - b));
      assert.ok((sent.at(-1) ?? 0) >= size, 'the last report covers the whole file');
      // Other requests of the same client report nothing.
      const calls = sent.length;
      await client.files.list();
      assert.equal(sent.length, calls);
    });
  });

  describe('what Bull Board shows for a run', () => {
    let t: TestService;
    let events: Map<string, QueueEvents>;
    const progress = new Map<string, StageProgress[]>();
    before(async () => {
      t = await startTestService();
      events = new Map(['build', 'submit', 'results'].map((name) => [name, new QueueEvents(name, { connection: { url: t.redis.url }, prefix: t.prefix })]));
      for (const [name, queueEvents] of events) {
        queueEvents.on('progress', ({ data }) => {
          if (typeof data === 'object' && data !== null && 'progress' in data) progress.set(name, [...(progress.get(name) ?? []), data as unknown as StageProgress]);
        });
        await queueEvents.waitUntilReady();
      }
    });
    after(async () => {
      for (const queueEvents of events.values()) await queueEvents.close();
      await t.close();
    });

    it('building counts items, uploading counts bytes, joining results counts requests, each up to 100%', async () => {
      const items = Array.from({ length: 25 }, (_, i) => ({ id: `a${i}`, text: `Article ${i}. Short.` }));
      const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items });
      assert.equal(posted.status, 202, posted.text);
      const run = await t.waitForRunEnd((posted.body as RunView).id);
      assert.equal(run.status, 'succeeded');
      const shard = await t.service.deps.ledger.getShard(run.id, 0);
      assert.ok(shard !== null);

      const build = progress.get('build') ?? [];
      assert.deepEqual(build.at(-1), { progress: 100, step: 'building', done: 25, total: 25, unit: 'items' });
      const upload = (progress.get('submit') ?? []).filter((value) => value.step === 'uploading');
      assert.deepEqual(upload[0], { progress: 0, step: 'uploading', done: 0, total: shard.bytes, unit: 'bytes' });
      assert.deepEqual(upload.at(-1), { progress: 100, step: 'uploading', done: shard.bytes, total: shard.bytes, unit: 'bytes' });
      const results = progress.get('results') ?? [];
      assert.deepEqual(results.at(-1), { progress: 100, step: 'joining results', done: 25, total: 25, unit: 'requests' });
      const buildJob = await t.service.deps.queues.build.getJob(`build-${run.id}`);
      assert.equal((buildJob?.progress as StageProgress | undefined)?.progress, 100, 'the finished job keeps its last progress for the board');
    });
  });
});
