import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestService, type TestService } from '../helpers/test-service.js';

/** 3,000 articles: their output file is several blocks. */
const ITEMS = 3_000;
const articles = Array.from({ length: ITEMS }, (_, index) => ({
  id: `article-${index}`,
  // Every fifth is not ASCII: its answer is copied as text, the others as bytes.
  text: `Article ${index} ${index % 5 === 0 ? 'über 漢字 ☕ ' : ''}${'reports on the harvest and the weather '.repeat(60)}today. It ends here.`,
}));

/**
 * The results join with its output files encoded on join threads gives
 * every request exactly one line, the same lines the event-loop join gives,
 * retries included.
 */
describe('the results join on threads', () => {
  let t: TestService;
  before(async () => {
    t = await startTestService({ tuning: { joinThreads: 2 } });
  });
  after(async () => {
    await t.close();
  });

  it('joins a many-block output file, with failures to retry, to one line per request, as the event-loop join does', async () => {
    const threaded = await t.postRun({ template: { type: 'summarize' }, items: articles, metadata: { emulator_error_rate: '0.2', emulator_error_shape: 'mixed' } });
    const threadedEnd = await t.waitForRunEnd(threaded.id, 120_000);
    const blocksOnThreads = t.service.deps.outputJoinThreads.answered;
    assert.ok(blocksOnThreads >= 3, `the output file went to the threads in blocks (${blocksOnThreads})`);

    t.service.deps.tuning.joinThreads = 0;
    const inline = await t.postRun({ template: { type: 'summarize' }, items: articles });
    const inlineEnd = await t.waitForRunEnd(inline.id, 120_000);
    assert.equal(t.service.deps.outputJoinThreads.answered, blocksOnThreads, 'no thread took part in the second run');
    assert.equal(inlineEnd.status, 'succeeded', JSON.stringify(inlineEnd.counts));

    assert.equal(threadedEnd.counts.succeeded + threadedEnd.counts.failed, ITEMS);
    assert.ok((threadedEnd.batches[0]?.generation ?? 0) >= 1, 'failed requests went round again');
    const threadedLines = await t.results(threaded.id);
    const inlineLines = new Map((await t.results(inline.id)).map((line) => [line.custom_id, line]));
    assert.equal(threadedLines.length, ITEMS);
    assert.equal(new Set(threadedLines.map((line) => line.custom_id)).size, ITEMS, 'one line per request');
    assert.equal(threadedLines.filter((line) => line.error === null).length, threadedEnd.counts.succeeded);
    for (const line of threadedLines) {
      assert.deepEqual(line.item, { id: line.custom_id });
      if (line.error !== null) continue;
      const alone = inlineLines.get(line.custom_id);
      assert.deepEqual({ item: line.item, status_code: line.status_code, output: line.output }, { item: alone?.item, status_code: alone?.status_code, output: alone?.output });
      const article = articles.find((candidate) => candidate.id === line.custom_id);
      // The emulator's summary starts with the article's first words (non-ASCII ones included).
      const opening = (article?.text ?? '-').split(' ').slice(0, 6).join(' ');
      assert.ok(String(line.output?.['text']).startsWith(`Summary: ${opening}`), `${String(line.output?.['text'])} summarises ${opening}`);
    }
  });
});
