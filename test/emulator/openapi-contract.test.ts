import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it, before, after } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import OpenAI from 'openai';
import { nodeHttpFetch } from '../../src/lib/node-http-fetch.js';
import { uploadBatchFile } from '../../src/lib/upload-batch-file.js';
import { chatLines, startKit, startWebhookReceiver, TERMINAL, type EmulatorKit } from './emulator-test-kit.js';

/**
 * Every response the emulator sends validates against OpenAI's own OpenAPI
 * spec (test/contracts), and so do the requests the service's client code
 * sends. The spec types "not yet" fields as non-null while the API sends
 * null, so a null optional field is read as absent (PRODUCT.md).
 */
const SPEC_ID = 'https://batchline.test/openai-files-batches.openapi.json';
const spec = JSON.parse(readFileSync(new URL('../contracts/openai-files-batches.openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
ajv.addFormat('unixtime', { type: 'number', validate: (value: number) => Number.isInteger(value) && value >= 0 });
ajv.addSchema({ ...spec, $id: SPEC_ID });

const pointer = (...parts: string[]): string => parts.map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** The 200 response schema of each operation, by operationId. */
const responseValidators = new Map<string, ValidateFunction>();
for (const [path, methods] of Object.entries(spec.paths)) {
  for (const [method, operation] of Object.entries(methods)) {
    const validate = ajv.getSchema(`${SPEC_ID}#/${pointer('paths', path, method, 'responses', '200', 'content', 'application/json', 'schema')}`);
    assert.ok(validate !== undefined, `no response schema for ${operation.operationId}`);
    responseValidators.set(operation.operationId, validate);
  }
}
const componentValidator = (name: string): ValidateFunction => {
  const validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/${name}`);
  assert.ok(validate !== undefined, `no schema ${name}`);
  return validate;
};

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== null).map(([key, entry]) => [key, withoutNulls(entry)]));
  }
  return value;
}

function assertValid(validate: ValidateFunction, value: unknown, what: string): void {
  const ok = validate(withoutNulls(value));
  assert.ok(ok, `${what} does not match the contract: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value).slice(0, 2000)}`);
}

const seen = new Set<string>();
function assertResponse(operationId: string, body: unknown): void {
  const validate = responseValidators.get(operationId);
  assert.ok(validate !== undefined, operationId);
  assertValid(validate, body, `${operationId} response`);
  seen.add(operationId);
}

const raw = async (request: { asResponse(): Promise<Response> }): Promise<unknown> => (await request.asResponse()).json();

interface CapturedRequest {
  method: string;
  url: string;
  body: unknown;
}

describe('emulator: the OpenAPI contract', () => {
  let kit: EmulatorKit;
  let client: OpenAI;
  const requests: CapturedRequest[] = [];

  before(async () => {
    kit = await startKit({ cancellingMs: 100 });
    // The service's client: nodeHttpFetch, with every request it sends kept for checking.
    client = new OpenAI({
      apiKey: kit.emulator.apiKey,
      baseURL: kit.emulator.baseURL,
      fetch: async (input, init) => {
        requests.push({ method: init?.method ?? 'GET', url: String(input instanceof Request ? input.url : input), body: init?.body });
        return nodeHttpFetch(input, init);
      },
    });
  });
  after(async () => {
    await kit.close();
  });

  it('Files: create, list, retrieve, download and delete answer as the spec says', async () => {
    const path = await kit.writeJsonl('contract.jsonl', chatLines(2));
    const file = await uploadBatchFile(client, path, 'contract.jsonl', { expiresAfterSeconds: 7200 });
    assertResponse('createFile', file);
    const other = await client.files.create({ file: await OpenAI.toFile(Buffer.from('hello'), 'hello.txt'), purpose: 'user_data' });
    assertResponse('createFile', other);
    assertResponse('listFiles', await raw(client.files.list()));
    assertResponse('listFiles', await raw(client.files.list({ purpose: 'batch', limit: 1 })));
    assertResponse('retrieveFile', await raw(client.files.retrieve(file.id)));
    const content = await (await client.files.content(file.id)).text();
    assertResponse('downloadFile', content);
    assertResponse('deleteFile', await raw(client.files.delete(other.id)));
  });

  it('Batches: create, retrieve in every status, list and cancel answer as the spec says', async () => {
    const file = await uploadBatchFile(client, await kit.writeJsonl('batch.jsonl', chatLines(10)), 'batch.jsonl');
    const create = (metadata: Record<string, string>): Promise<unknown> =>
      raw(
        client.batches.create({
          input_file_id: file.id,
          endpoint: '/v1/chat/completions',
          completion_window: '24h',
          metadata: { batchline_run: 'run_contract', batchline_shard: '0', batchline_generation: '0', ...metadata },
          output_expires_after: { anchor: 'created_at', seconds: 86_400 },
        }),
      );
    const ids: Record<string, string> = {};
    const plans: Record<string, Record<string, string>> = {
      completed: { emulator_error_rate: '0.5' },
      expired: { emulator_expire_at: '0.5' },
      cancelled: { emulator_in_progress_ms: '60000' },
      running: { emulator_in_progress_ms: '60000' },
    };
    for (const [name, metadata] of Object.entries(plans)) {
      const created = (await create(metadata)) as { id: string; status: string };
      assert.equal(created.status, 'validating');
      assertResponse('createBatch', created);
      ids[name] = created.id;
    }
    const badFile = await uploadBatchFile(client, await kit.writeJsonl('bad.jsonl', ['nope', '{}']), 'bad.jsonl');
    const failed = (await raw(client.batches.create({ input_file_id: badFile.id, endpoint: '/v1/chat/completions', completion_window: '24h' }))) as { id: string };
    ids['failed'] = failed.id;

    const statuses = new Set<string>();
    for (const id of Object.values(ids)) {
      let batch = (await raw(client.batches.retrieve(id))) as { status: string };
      if (id === ids['cancelled']) {
        batch = (await raw(client.batches.cancel(id))) as { status: string };
        assertResponse('cancelBatch', batch);
        statuses.add(batch.status);
        while (!TERMINAL.includes(batch.status as never)) batch = (await raw(client.batches.retrieve(id))) as { status: string };
      }
      assertResponse('retrieveBatch', batch);
      statuses.add(batch.status);
    }
    assert.deepEqual([...statuses].sort(), ['cancelled', 'cancelling', 'completed', 'expired', 'failed', 'in_progress']);
    assertResponse('listBatches', await raw(client.batches.list()));
    assertResponse('listBatches', await raw(client.batches.list({ limit: 2, after: ids['expired'] })));
  });

  it('covers every operation of the spec', () => {
    const all = [...responseValidators.keys()].sort();
    assert.deepEqual([...seen].sort(), all);
  });

  it("the client's requests validate against the request schemas", () => {
    const createBatch = componentValidator('CreateBatchRequest');
    const createFile = componentValidator('CreateFileRequest');
    const batchCreates = requests.filter((request) => request.method === 'POST' && request.url.endsWith('/batches'));
    const uploads = requests.filter((request) => request.method === 'POST' && request.url.endsWith('/files'));
    assert.ok(batchCreates.length >= 5 && uploads.length >= 3);
    for (const request of batchCreates) {
      assert.equal(typeof request.body, 'string');
      assertValid(createBatch, JSON.parse(request.body as string), 'batches.create request');
    }
    for (const request of uploads) {
      assert.ok(request.body instanceof FormData, 'files.create sends multipart form data');
      const form = request.body;
      const file = form.get('file');
      assert.ok(file instanceof File);
      // The multipart fields, read back into the object the schema describes.
      const body: Record<string, unknown> = { file: file.name, purpose: form.get('purpose') };
      if (form.has('expires_after[anchor]')) {
        body['expires_after'] = { anchor: form.get('expires_after[anchor]'), seconds: Number(form.get('expires_after[seconds]')) };
      }
      assertValid(createFile, body, 'files.create request');
    }
  });

  it('the null quirk: a validating batch fails the literal spec, and passes with null read as absent', async () => {
    const batch = await raw(kit.client.batches.list({ limit: 1 }));
    const validate = responseValidators.get('listBatches');
    assert.ok(validate !== undefined);
    assert.equal(validate(batch), false, 'the spec types output_file_id and friends as non-null strings');
    assertValid(validate, batch, 'listBatches with nulls read as absent');
  });

  it('webhook events validate against the spec’s batch.* event schemas', async () => {
    const receiver = await startWebhookReceiver();
    const secret = `whsec_${Buffer.from('contract-secret-0123456789abcdef').toString('base64')}`;
    const hooked = await startKit({ webhook: { url: receiver.url, secret }, sweepIntervalMs: 20 });
    try {
      await hooked.createBatch(chatLines(1));
      await hooked.createBatch(['not json']);
      await hooked.createBatch(chatLines(2), { metadata: { emulator_expire_at: '0.5' } });
      const toCancel = await hooked.createBatch(chatLines(1), { metadata: { emulator_in_progress_ms: '60000' } });
      await hooked.waitForStatus(toCancel.id, ['in_progress']);
      await hooked.client.batches.cancel(toCancel.id);
      const schemas: Record<string, string> = {
        'batch.completed': 'WebhookBatchCompleted',
        'batch.failed': 'WebhookBatchFailed',
        'batch.expired': 'WebhookBatchExpired',
        'batch.cancelled': 'WebhookBatchCancelled',
      };
      const types = new Set<string>();
      for (const delivery of await receiver.waitFor(4)) {
        const event = JSON.parse(delivery.body) as { type: string };
        const schema = schemas[event.type];
        assert.ok(schema !== undefined, event.type);
        assertValid(componentValidator(schema), event, event.type);
        types.add(event.type);
      }
      assert.equal(types.size, 4);
    } finally {
      await hooked.close();
      await receiver.close();
    }
  });
});
