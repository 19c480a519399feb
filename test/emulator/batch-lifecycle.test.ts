import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { chatLine, chatLines, imageModerationLine, startKit, summaryLine, TERMINAL, type EmulatorKit } from './emulator-test-kit.js';

describe('emulator: a batch from create to results, through the SDK', () => {
  let kit: EmulatorKit;
  before(async () => {
    kit = await startKit();
  });
  after(async () => {
    await kit.close();
  });

  it('answers create with a validating batch, then is completed at the first retrieve when timing is 0', async () => {
    const created = await kit.createBatch(chatLines(3), { metadata: { batchline_run: 'run_1', batchline_shard: '0' } });
    assert.equal(created.object, 'batch');
    assert.equal(created.status, 'validating');
    assert.equal(created.output_file_id, null);
    assert.equal(created.error_file_id, null);
    assert.equal(created.errors, null);
    assert.equal(created.in_progress_at, null);
    assert.equal(created.completed_at, null);
    assert.equal(created.completion_window, '24h');
    assert.equal(created.expires_at, created.created_at + 24 * 3600);
    assert.deepEqual(created.metadata, { batchline_run: 'run_1', batchline_shard: '0' });

    const batch = await kit.client.batches.retrieve(created.id);
    assert.equal(batch.status, 'completed');
    assert.equal(batch.model, 'gpt-4o-mini');
    assert.deepEqual(batch.request_counts, { total: 3, completed: 3, failed: 0 });
    assert.ok(batch.in_progress_at !== null && batch.finalizing_at !== null && batch.completed_at !== null);
    assert.ok(typeof batch.output_file_id === 'string');
    assert.equal(batch.error_file_id, null, 'no error file when nothing failed');
    assert.ok(batch.usage !== undefined && batch.usage.input_tokens > 0 && batch.usage.output_tokens > 0);
    assert.equal(batch.usage.total_tokens, batch.usage.input_tokens + batch.usage.output_tokens);

    const output = await kit.client.files.retrieve(batch.output_file_id);
    assert.equal(output.purpose, 'batch_output');
    assert.equal(output.filename, `${batch.id}_output.jsonl`);
    const lines = await kit.readJsonl(batch.output_file_id);
    assert.deepEqual(lines.map((line) => line.custom_id).sort(), ['req-0', 'req-1', 'req-2']);
    for (const line of lines) {
      assert.match(line.id, /^batch_req_/);
      assert.equal(line.error, null);
      assert.equal(line.response?.status_code, 200);
      assert.match(line.response?.request_id ?? '', /^[0-9a-f]{32}$/);
    }
  });

  it('writes chat completions that look real, with the deterministic answers', async () => {
    const created = await kit.createBatch([
      imageModerationLine('clean', Buffer.from('a picture of a cat')),
      imageModerationLine('flagged', Buffer.from('...FLAGGED...')),
      summaryLine('article', 'The council approved the new budget on Monday. It takes effect in March.'),
      chatLine('echo', 'Hello there'),
      { ...chatLine('short', 'x'.repeat(400)), body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(400) }], max_completion_tokens: 5 } },
    ]);
    const batch = await kit.client.batches.retrieve(created.id);
    assert.equal(batch.status, 'completed');
    const byId = new Map((await kit.readJsonl(batch.output_file_id ?? '')).map((line) => [line.custom_id, line]));
    type ChatBody = { id: string; object: string; model: string; choices: Array<{ message: { role: string; content: string }; finish_reason: string }>; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } };
    const body = (id: string): ChatBody => byId.get(id)?.response?.body as unknown as ChatBody;

    assert.match(body('clean').choices[0]?.message.content ?? '', /^No\. /);
    assert.match(body('flagged').choices[0]?.message.content ?? '', /^Yes\. /);
    assert.equal(body('article').choices[0]?.message.content, 'Summary: The council approved the new budget on Monday.');
    assert.equal(body('echo').choices[0]?.message.content, 'Echo: Hello there');
    assert.equal(body('short').choices[0]?.finish_reason, 'length');
    assert.ok((body('short').choices[0]?.message.content.length ?? 0) <= 20);

    const clean = body('clean');
    assert.match(clean.id, /^chatcmpl-/);
    assert.equal(clean.object, 'chat.completion');
    assert.equal(clean.model, 'gpt-4o-mini');
    assert.equal(clean.choices[0]?.message.role, 'assistant');
    assert.equal(clean.choices[0]?.finish_reason, 'stop');
    assert.equal(clean.usage.total_tokens, clean.usage.prompt_tokens + clean.usage.completion_tokens);
    // Token counts grow with the input.
    assert.ok(body('short').usage.prompt_tokens > body('echo').usage.prompt_tokens);
  });

  it('writes Responses API and embeddings bodies for those endpoints', async () => {
    const responsesFile = await kit.upload([
      { custom_id: 'r1', method: 'POST', url: '/v1/responses', body: { model: 'gpt-4.1-mini', instructions: 'Summarize the article.', input: 'Rain fell all day. The river rose.' } },
      {
        custom_id: 'r2',
        method: 'POST',
        url: '/v1/responses',
        body: { model: 'gpt-4.1-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: 'Is it FLAGGED?' }, { type: 'input_image', image_url: 'https://example.test/cat.png' }] }] },
      },
    ]);
    const responsesBatch = await kit.client.batches.create({ input_file_id: responsesFile.id, endpoint: '/v1/responses', completion_window: '24h' });
    const done = await kit.waitForStatus(responsesBatch.id, TERMINAL);
    assert.equal(done.status, 'completed');
    const responses = new Map((await kit.readJsonl(done.output_file_id ?? '')).map((line) => [line.custom_id, line.response?.body]));
    type ResponseBody = { id: string; object: string; status: string; output: Array<{ type: string; role: string; content: Array<{ type: string; text: string }> }>; usage: { input_tokens: number; output_tokens: number; total_tokens: number } };
    const r1 = responses.get('r1') as unknown as ResponseBody;
    assert.match(r1.id, /^resp_/);
    assert.equal(r1.object, 'response');
    assert.equal(r1.status, 'completed');
    assert.equal(r1.output[0]?.type, 'message');
    assert.equal(r1.output[0]?.content[0]?.type, 'output_text');
    assert.equal(r1.output[0]?.content[0]?.text, 'Summary: Rain fell all day.');
    assert.equal(r1.usage.total_tokens, r1.usage.input_tokens + r1.usage.output_tokens);
    assert.match((responses.get('r2') as unknown as ResponseBody).output[0]?.content[0]?.text ?? '', /^Yes\. /);

    const embeddingsFile = await kit.upload([
      { custom_id: 'e1', method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: 'hello' } },
      { custom_id: 'e2', method: 'POST', url: '/v1/embeddings', body: { model: 'text-embedding-3-small', input: ['hello', 'world'], dimensions: 4 } },
    ]);
    const embeddingsBatch = await kit.client.batches.create({ input_file_id: embeddingsFile.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const embedded = await kit.waitForStatus(embeddingsBatch.id, TERMINAL);
    const embeddings = new Map((await kit.readJsonl(embedded.output_file_id ?? '')).map((line) => [line.custom_id, line.response?.body]));
    type EmbeddingBody = { object: string; data: Array<{ object: string; index: number; embedding: number[] }>; usage: { prompt_tokens: number } };
    const e1 = embeddings.get('e1') as unknown as EmbeddingBody;
    const e2 = embeddings.get('e2') as unknown as EmbeddingBody;
    assert.equal(e1.object, 'list');
    assert.equal(e1.data[0]?.object, 'embedding');
    assert.equal(e1.data[0]?.embedding.length, 8);
    assert.equal(e2.data.length, 2);
    assert.equal(e2.data[1]?.embedding.length, 4);
    // Deterministic: the same input embeds the same way, in another batch too.
    const again = await kit.client.batches.create({ input_file_id: embeddingsFile.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const againDone = await kit.waitForStatus(again.id, TERMINAL);
    const againLines = await kit.readJsonl(againDone.output_file_id ?? '');
    assert.deepEqual((againLines.find((line) => line.custom_id === 'e1')?.response?.body as unknown as EmbeddingBody).data, e1.data);
  });

  it('returns results in a shuffled order', async () => {
    const created = await kit.createBatch(chatLines(200));
    const batch = await kit.client.batches.retrieve(created.id);
    const ids = (await kit.readJsonl(batch.output_file_id ?? '')).map((line) => line.custom_id);
    assert.equal(ids.length, 200);
    assert.equal(new Set(ids).size, 200);
    assert.notDeepEqual(ids, chatLines(200).map((line) => line['custom_id']));
  });

  it('lists batches newest first with cursor pagination', async () => {
    const list = await startKit();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await list.createBatch(chatLines(1), { metadata: { n: String(i) } })).id);
      const first = await list.client.batches.list({ limit: 2 });
      assert.deepEqual(first.data.map((b) => b.id), [ids[4], ids[3]]);
      assert.equal(first.has_more, true);
      const second = await list.client.batches.list({ limit: 2, after: ids[3] });
      assert.deepEqual(second.data.map((b) => b.id), [ids[2], ids[1]]);
      const all: string[] = [];
      for await (const batch of list.client.batches.list({ limit: 2 })) all.push(batch.id);
      assert.deepEqual(all, [...ids].reverse());
      assert.ok(first.data.every((b) => b.status === 'completed'), 'listing settles batches like retrieve');
    } finally {
      await list.close();
    }
  });

  it('moves through in_progress with counts that grow, then finalizing, then completed', async () => {
    const timed = await startKit({ validatingMs: 200, inProgressMs: 1000, finalizingMs: 500 });
    try {
      const created = await timed.createBatch(chatLines(50));
      const seen: string[] = [];
      const completedCounts: number[] = [];
      const deadline = Date.now() + 10_000;
      let batch = created;
      while (!TERMINAL.includes(batch.status) && Date.now() < deadline) {
        batch = await timed.client.batches.retrieve(created.id);
        if (seen.at(-1) !== batch.status) seen.push(batch.status);
        if (batch.status === 'in_progress') completedCounts.push(batch.request_counts?.completed ?? 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // A loaded machine may step over a short phase between two polls; what a client sees must
      // still be in order, and the emulator's own history below must hold every phase.
      const order = ['validating', 'in_progress', 'finalizing', 'completed'];
      assert.deepEqual([...seen].sort((a, b) => order.indexOf(a) - order.indexOf(b)), seen, `seen out of order: ${seen.join(', ')}`);
      assert.ok(seen.includes('in_progress') && seen.at(-1) === 'completed', seen.join(', '));
      assert.ok(completedCounts.length >= 3, `saw in_progress ${completedCounts.length} times`);
      assert.ok(completedCounts.some((n) => n > 0 && n < 50), `counts moved: ${completedCounts.join(',')}`);
      assert.deepEqual([...completedCounts].sort((a, b) => a - b), completedCounts, 'counts never go back');
      assert.ok(batch.in_progress_at !== null && batch.finalizing_at !== null && batch.completed_at !== null);
      assert.ok((batch.in_progress_at ?? 0) <= (batch.finalizing_at ?? 0) && (batch.finalizing_at ?? 0) <= (batch.completed_at ?? 0));
      const history = timed.emulator.ledger.batch(created.id)?.statusHistory.map((entry) => entry.status);
      assert.deepEqual(history, ['validating', 'in_progress', 'finalizing', 'completed']);
    } finally {
      await timed.close();
    }
  });

  it('keeps a ledger of every batch, with metadata, for "exactly one batch per shard" checks', async () => {
    const ledgerKit = await startKit();
    try {
      const meta = (shard: number, generation = 0): Record<string, string> => ({
        batchline_run: 'run_ledger',
        batchline_shard: String(shard),
        batchline_generation: String(generation),
      });
      await ledgerKit.createBatch(chatLines(1), { metadata: meta(0) });
      await ledgerKit.createBatch(chatLines(1), { metadata: meta(1) });
      await ledgerKit.createBatch(chatLines(1), { metadata: meta(1, 1) });
      const keys = ['batchline_run', 'batchline_shard', 'batchline_generation'];
      assert.deepEqual(ledgerKit.emulator.ledger.duplicates(keys), []);
      assert.equal(ledgerKit.emulator.ledger.groupByMetadata(keys).size, 3);
      await ledgerKit.createBatch(chatLines(1), { metadata: meta(1) });
      const duplicates = ledgerKit.emulator.ledger.duplicates(keys);
      assert.equal(duplicates.length, 1);
      assert.equal(duplicates[0]?.length, 2);
      const records = ledgerKit.emulator.ledger.batches({ metadata: { batchline_shard: '1' } });
      assert.equal(records.length, 3);
      assert.ok(records.every((record) => record.inputFileId.startsWith('file-') && record.statusHistory[0]?.status === 'validating'));
      assert.equal(ledgerKit.emulator.ledger.files().filter((file) => file.purpose === 'batch').length, 4);
    } finally {
      await ledgerKit.close();
    }
  });
});
