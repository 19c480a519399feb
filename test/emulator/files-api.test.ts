import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, openAsBlob } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, before, after } from 'node:test';
import OpenAI from 'openai';
import { errorMessage, isPermanentError } from '../../src/lib/permanent-error.js';
import { uploadBatchFile } from '../../src/lib/upload-batch-file.js';
import { chatLines, makeClient, startKit, type EmulatorKit } from './emulator-test-kit.js';

const THIRTY_DAYS = 30 * 24 * 3600;

async function contentOf(client: OpenAI, fileId: string): Promise<Buffer> {
  const response = await client.files.content(fileId);
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('emulator: Files API through the SDK', () => {
  let kit: EmulatorKit;
  before(async () => {
    kit = await startKit();
  });
  after(async () => {
    await kit.close();
  });

  it('uploads a stream with files.create and describes the file as OpenAI does', async () => {
    const path = await kit.writeJsonl('stream.jsonl', chatLines(3));
    const file = await kit.client.files.create({ file: createReadStream(path), purpose: 'batch' });
    assert.match(file.id, /^file-[A-Za-z0-9]{22}$/);
    assert.equal(file.object, 'file');
    assert.equal(file.filename, 'stream.jsonl');
    assert.equal(file.purpose, 'batch');
    assert.equal(file.status, 'processed');
    assert.equal(file.bytes, (await stat(path)).size);
    assert.equal(file.expires_at, file.created_at + THIRTY_DAYS, 'batch files expire after 30 days by default');
    assert.match(file._request_id ?? '', /^req_[0-9a-f]{32}$/);
  });

  it('uploads from disk with uploadBatchFile, honouring expires_after', async () => {
    const path = await kit.writeJsonl('expiring.jsonl', chatLines(2));
    const file = await uploadBatchFile(kit.client, path, 'expiring.jsonl', { expiresAfterSeconds: 3600 });
    assert.equal(file.expires_at, file.created_at + 3600);
    const content = await contentOf(kit.client, file.id);
    assert.deepEqual(content, await readFile(path));
  });

  it('retrieves, lists (order, purpose, cursor), downloads and deletes', async () => {
    const own = await startKit();
    try {
      const a = await own.upload(chatLines(1, 'a'), 'a.jsonl');
      const b = await own.upload(chatLines(1, 'b'), 'b.jsonl');
      const other = await own.client.files.create({ file: await OpenAI.toFile(Buffer.from('notes'), 'notes.txt'), purpose: 'user_data' });
      assert.equal(other.expires_at, null, 'only batch files expire by default');

      assert.deepEqual((await own.client.files.retrieve(a.id)).id, a.id);
      const list = await own.client.files.list();
      assert.deepEqual(list.data.map((f) => f.id), [other.id, b.id, a.id], 'newest first');
      assert.deepEqual((await own.client.files.list({ order: 'asc' })).data.map((f) => f.id), [a.id, b.id, other.id]);
      assert.deepEqual((await own.client.files.list({ purpose: 'batch' })).data.map((f) => f.id), [b.id, a.id]);
      const firstPage = await own.client.files.list({ limit: 1 });
      assert.deepEqual(firstPage.data.map((f) => f.id), [other.id]);
      assert.equal(firstPage.has_more, true);
      const all: string[] = [];
      for await (const file of own.client.files.list({ limit: 1 })) all.push(file.id);
      assert.deepEqual(all, [other.id, b.id, a.id]);

      assert.equal((await contentOf(own.client, other.id)).toString(), 'notes');
      const deleted = await own.client.files.delete(a.id);
      assert.deepEqual(deleted, { id: a.id, object: 'file', deleted: true });
      await assert.rejects(own.client.files.retrieve(a.id), (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        assert.match(error.message, /No such File object/);
        return true;
      });
      await assert.rejects(own.client.files.content(a.id), OpenAI.NotFoundError);
      await assert.rejects(own.client.files.delete(a.id), OpenAI.NotFoundError);
      assert.deepEqual((await own.client.files.list()).data.map((f) => f.id), [other.id, b.id]);
      assert.equal(own.emulator.ledger.files().find((f) => f.id === a.id)?.deleted, true);
    } finally {
      await own.close();
    }
  });

  it('a deleted input file stays readable for the batch that uses it', async () => {
    const slow = await startKit({ inProgressMs: 300 });
    try {
      const file = await slow.upload(chatLines(5));
      const batch = await slow.client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      await slow.client.files.delete(file.id);
      const done = await slow.waitForStatus(batch.id, ['completed', 'failed']);
      assert.equal(done.status, 'completed');
      assert.equal((await slow.readJsonl(done.output_file_id ?? '')).length, 5);
    } finally {
      await slow.close();
    }
  });

  it('refuses a batch file over 200 MB with "File is too large."', async () => {
    const path = join(kit.dir, 'huge.jsonl');
    const handle = await open(path, 'w');
    const block = Buffer.alloc(8 * 1024 * 1024, 'a');
    for (let i = 0; i < 25; i++) await handle.write(block);
    await handle.write(Buffer.from('a'));
    await handle.close();
    const huge = new File([await openAsBlob(path)], 'huge.jsonl');
    assert.equal(huge.size, 200 * 1024 * 1024 + 1);
    await assert.rejects(kit.client.files.create({ file: huge, purpose: 'batch' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.message, '400 File is too large.');
      return true;
    });
    await assert.rejects(uploadBatchFile(kit.client, path, 'huge.jsonl'), (error: unknown) => {
      assert.match(errorMessage(error), /^huge\.jsonl is 209715201 bytes; OpenAI accepts batch files up to 209715200 bytes$/, 'refused before sending, named by its upload name');
      assert.ok(!errorMessage(error).includes(kit.dir), 'the message does not show where the file lies on the server');
      assert.ok(isPermanentError(error), 'no retry can make the file fit');
      return true;
    });
  });

  it('applies the batch size limit to purpose batch only', async () => {
    const small = await startKit({ maxBatchFileBytes: 1000 });
    try {
      const path = await small.writeJsonl('big.jsonl', ['x'.repeat(1000)]);
      await assert.rejects(small.client.files.create({ file: new File([await openAsBlob(path)], 'big.jsonl'), purpose: 'batch' }), /File is too large/);
      const kept = await small.client.files.create({ file: new File([await openAsBlob(path)], 'big.jsonl'), purpose: 'user_data' });
      assert.equal(kept.bytes, 1001);
    } finally {
      await small.close();
    }
  });

  it('refuses what OpenAI refuses: a non-.jsonl batch file, an unknown purpose, a bad expires_after', async () => {
    const path = await kit.writeJsonl('x.jsonl', chatLines(1));
    await assert.rejects(kit.client.files.create({ file: new File([await openAsBlob(path)], 'x.txt'), purpose: 'batch' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.match(error.message, /Must be \.jsonl/);
      return true;
    });
    await assert.rejects(kit.client.files.create({ file: new File([await openAsBlob(path)], 'x.jsonl'), purpose: 'nonsense' as 'batch' }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.param, 'purpose');
      return true;
    });
    await assert.rejects(
      kit.client.files.create({ file: new File([await openAsBlob(path)], 'x.jsonl'), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 60 } }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'expires_after.seconds',
    );
  });

  it('checks the bearer key like OpenAI: 401 in OpenAI error shape', async () => {
    const wrong = makeClient(kit.emulator, { apiKey: 'sk-wrong-key-123456', maxRetries: 0 });
    await assert.rejects(wrong.files.list(), (error: unknown) => {
      assert.ok(error instanceof OpenAI.AuthenticationError);
      assert.equal(error.code, 'invalid_api_key');
      assert.equal(error.type, 'invalid_request_error');
      assert.match(error.message, /Incorrect API key provided: sk-\*+3456/);
      assert.match(error.requestID ?? '', /^req_/);
      return true;
    });
    const none = makeClient(kit.emulator, { defaultHeaders: { Authorization: null }, maxRetries: 0 });
    await assert.rejects(none.batches.list(), (error: unknown) => {
      assert.ok(error instanceof OpenAI.AuthenticationError);
      assert.match(error.message, /You didn't provide an API key/);
      return true;
    });
  });

  it('sends x-request-id on every response and answers unknown routes in OpenAI shape', async () => {
    const { response } = await kit.client.files.list().withResponse();
    assert.match(response.headers.get('x-request-id') ?? '', /^req_[0-9a-f]{32}$/);
    await assert.rejects(kit.client.get('/nope'), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.match(error.message, /Invalid URL \(GET \/v1\/nope\)/);
      return true;
    });
  });

  it('serves a file exactly as uploaded (byte for byte)', async () => {
    const path = await kit.writeJsonl('bytes.jsonl', ['{"a":"é ü 日本"}', '{"b":1}']);
    const file = await uploadBatchFile(kit.client, path, 'bytes.jsonl');
    const served = await contentOf(kit.client, file.id);
    const original = await readFile(path);
    assert.equal(createHash('sha256').update(served).digest('hex'), createHash('sha256').update(original).digest('hex'));
  });
});
