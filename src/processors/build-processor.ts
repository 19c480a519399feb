import { rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import type { Deps } from '../deps.js';
import { readLines } from '../lib/jsonl.js';
import { LineFileWriter } from '../lib/line-file-writer.js';
import { createItemSource } from '../pipelines/sources/create-item-source.js';
import { buildRequestBody } from '../pipelines/templates/build-request-body.js';
import { customIdFor, itemRefOf } from '../pipelines/templates/item-identity.js';
import { endpointOfTemplate, modelOf } from '../pipelines/templates/template-definition.js';
import type { ReadObject, TemplateItem } from '../pipelines/templates/template-item.js';
import { encodeResultLine, errorResultLine } from '../runs/result-line.js';
import { encodeManifestLine } from '../runs/manifest-line.js';
import { encodeRequestLine } from '../runs/request-line.js';
import type { RunRecord } from '../runs/run-record.js';
import { ShardAssembler } from '../runs/shard-assembler.js';
import { shardLineOf } from '../runs/shard-line.js';
import { storageKeys } from '../runs/storage-keys.js';
import { enqueueNotifyWhenDone } from './enqueue-notify-when-done.js';
import { progressReporter, type ProgressReporter } from './job-progress.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';

/**
 * Build: turns a run's input (items through its template, or raw request
 * lines) into JSONL shards on storage, one submit job per shard. Items that
 * cannot become a request (not an image, too large…) get their error result
 * line here and the run goes on without them.
 */
export function createBuildProcessor(deps: Deps): StageProcessor<'build'> {
  return async (job) => {
    const { runId } = parsePayload('build', job.data);
    const run = await deps.ledger.getRun(runId);
    if (run === null) return;
    // Built already (this is a repeat delivery): the shards and their jobs exist.
    if (run.phase !== 'queued' && run.phase !== 'building') return;
    await deps.ledger.updateRun(runId, { phase: 'building' }, { phase: ['queued', 'building'] });
    const log = deps.logger.child({ run_id: runId });

    const assembler = new ShardAssembler(deps, runId, run.input_kind === 'items');
    const rejectedFile = new LineFileWriter(path.join(deps.workDir, `${runId}-rejected.ndjson`));
    try {
      const progress = progressReporter(job, 'building', run.input_kind, run.items);
      if (run.input_kind === 'items') await buildFromItems(deps, run, assembler, rejectedFile, (done) => progress.report(done));
      else await buildFromRequests(deps, run, assembler, progress);
      await progress.flush(run.items);
      const shardCount = await assembler.finish();
      await rejectedFile.close();
      if (rejectedFile.lines > 0) await deps.storage.put(storageKeys.rejected(runId), createReadStream(rejectedFile.path));
      await deps.ledger.updateRun(runId, { phase: 'sharded', shard_count: shardCount, rejected: rejectedFile.lines }, { phase: ['building'] });
      log.info({ shards: shardCount, rejected: rejectedFile.lines }, 'run built');
      await enqueueNotifyWhenDone(deps, runId);
    } catch (error) {
      await assembler.abandon();
      throw error;
    } finally {
      await rejectedFile.close();
      await rm(rejectedFile.path, { force: true });
    }
  };
}

async function buildFromItems(
  deps: Deps,
  run: RunRecord,
  assembler: ShardAssembler,
  rejected: LineFileWriter,
  reportProgress: (done: number) => Promise<void>,
): Promise<void> {
  const template = run.template;
  if (template === null) throw new Error(`run ${run.id} has items but no template`);
  const endpoint = endpointOfTemplate(template);
  const model = modelOf(template);
  const source = run.source === null ? null : createItemSource(run.source, deps.s3);
  const readObject: ReadObject | undefined = source === null ? undefined : (key, maxBytes, use) => source.read(key, maxBytes, use);
  // Items whose body is being built, oldest first. Several are read at once (each may be an
  // object fetched from S3, where latency, not bandwidth, is the cost) but they are consumed in
  // input order, so the shards come out byte for byte the same as a one-at-a-time build and a
  // rebuild reproduces them. The window bounds memory to BUILD_WINDOW items' bodies.
  const window: PendingItem[] = [];
  let index = 0;
  const consumeOldest = async (): Promise<void> => {
    const pending = window.shift();
    if (pending === undefined) return;
    const built = await pending.built;
    if (!built.ok) {
      await rejected.write(encodeResultLine(errorResultLine(pending.customId, itemRefOf(pending.item, pending.index, template), built.error)));
      return;
    }
    const requestLine = encodeRequestLine(pending.customId, endpoint, built.body, built.inlineImages);
    // The manifest keeps the item's identity as its result lines will show it, so the join copies it as stored.
    const itemRef = itemRefOf(pending.item, pending.index, template, built.storedId);
    await assembler.add(requestLine, encodeManifestLine(pending.customId, itemRef), model);
    await reportProgress(pending.position);
  };
  try {
    for await (const line of readLines(await deps.storage.get(storageKeys.itemsInput(run.id)))) {
      const item = JSON.parse(line) as TemplateItem;
      const customId = customIdFor(item, index, template);
      const built = buildRequestBody(template, item, { readObject });
      // Its outcome is read when its turn comes; until then a failure must not count as unhandled.
      built.catch(() => undefined);
      window.push({ customId, item, index, position: index + 1, built });
      index += 1;
      if (window.length >= BUILD_WINDOW) await consumeOldest();
    }
    while (window.length > 0) await consumeOldest();
  } finally {
    // On a failure, let reads already started finish before the job is retried, so none is left open.
    await Promise.allSettled(window.map((pending) => pending.built));
  }
  await reportProgress(index);
}

/** Items read and built ahead of the one being written: enough to hide S3's per-object latency. */
const BUILD_WINDOW = 8;

interface PendingItem {
  customId: string;
  item: TemplateItem;
  /** 0-based position in the input: a POSTed item's position in its POST. */
  index: number;
  /** 1-based position in the input, for progress. */
  position: number;
  built: ReturnType<typeof buildRequestBody>;
}

async function buildFromRequests(deps: Deps, run: RunRecord, assembler: ShardAssembler, progress: ProgressReporter): Promise<void> {
  let done = 0;
  // Request lines were validated when the run was accepted; only the model is read again to keep one per shard.
  for await (const line of readLines(await deps.storage.get(storageKeys.requestsInput(run.id)))) {
    const request = JSON.parse(line) as { body?: { model?: unknown } };
    const model = typeof request.body?.model === 'string' ? request.body.model : null;
    await assembler.add(shardLineOf(line), null, model);
    await progress.report((done += 1));
  }
}
