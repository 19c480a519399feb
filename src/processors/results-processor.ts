import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Deps } from '../deps.js';
import { readLineBatches, readLineBlocks } from '../lib/jsonl.js';
import { encodeOutputBlock, OUTCOME_SUCCEEDED, OUTCOME_TRANSIENT, SplicedResultLines, type EncodedOutputBlock } from '../runs/output-block.js';
import type { OutputReading } from '../runs/parse-output-for-run.js';
import { encodedResultLine, errorResultLine, isSuccess, type ResultLine } from '../runs/result-line.js';
import { indexManifestBlock } from '../runs/manifest-line.js';
import { ANSWERED_BEFORE, ShardJoinIndex } from '../runs/shard-join-index.js';
import { NO_BATCH_YET, type RunRecord, type ShardRecord } from '../runs/run-record.js';
import { storageKeys } from '../runs/storage-keys.js';
import { StoredLinesWriter } from '../storage/stored-lines-writer.js';
import { enqueueNotifyWhenDone } from './enqueue-notify-when-done.js';
import { enqueuedTokenLimitFrom, isTransientFailure, nextGenerationPatch, retryModeFor } from '../runs/retry-policy.js';
import { jobIds } from '../queues/job-ids.js';
import { enqueue } from '../queues/stage-queues.js';
import { budgetHolder } from '../runs/token-budget.js';
import { promoteIfCancelled } from '../runs/wake-for-cancel.js';
import { progressReporter } from './job-progress.js';
import { crashPoint } from '../lib/crash-point.js';
import { estimateTokens } from '../lib/token-estimate.js';
import { processHeapGrowth } from '../heap-growth.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';

/**
 * Results: streams the batch's output and error files, joins each line back
 * to its item by custom_id, gives every request of the shard exactly one
 * result line (requests the batch never answered — expired, cancelled,
 * failed validation — get an error line saying why), and stores the shard's
 * results under a deterministic key.
 */
export function createResultsProcessor(deps: Deps): StageProcessor<'results'> {
  const join: StageProcessor<'results'> = async (job) => {
    const ref = parsePayload('results', job.data);
    const run = await deps.ledger.getRun(ref.runId);
    const shard = await deps.ledger.getShard(ref.runId, ref.shard);
    if (run === null || shard === null || shard.generation !== ref.generation) return;
    if (shard.step === 'stored') {
      await enqueueNotifyWhenDone(deps, ref.runId);
      return;
    }
    if (shard.step !== 'terminal') return;

    // The output file's download starts first: its first bytes travel while the manifest is read.
    const outputDownload = shard.output_file_id === null ? null : downloadFile(deps, shard.output_file_id);
    outputDownload?.catch(() => undefined);
    let index: ShardJoinIndex;
    try {
      index = await loadManifest(deps, run, ref.shard);
    } catch (error) {
      await discard(outputDownload);
      throw error;
    }
    const results = new StoredLinesWriter(deps.storage, storageKeys.shardResults(ref.runId, ref.shard, ref.generation));
    // Failed requests that go round again in the next generation instead of getting their line now.
    const retry = new Set<string>();
    const mode = retryModeFor(run, shard, deps.tuning);
    let succeeded = 0;
    let failed = 0;
    const progress = progressReporter(job, 'joining results', 'requests', shard.requests);
    /** The next generation's own estimate, counted as its requests are copied (it may send far fewer than this one). */
    let nextTokens = 0;
    // A batch of lines is joined synchronously and written with one await: per-line awaits cost as
    // much as the join itself on a 50,000-line file. The line's request was claimed in the index
    // before: it gets this line and no other.
    const emit = (line: ResultLine, retryable: boolean): void => {
      if (retryable && !isSuccess(line)) retry.add(line.custom_id);
      else {
        if (isSuccess(line)) succeeded += 1;
        else failed += 1;
        results.append(encodedResultLine(line));
      }
    };
    try {
      await deps.tokenBudget.release(shard.model ?? '', budgetHolder(ref));
      await learnTokenLimit(deps, shard);
      // A block's lines are claimed together, then joined: the claims' lookups into the index (50,000
      // entries) run back to back instead of each between two lines' work that pushes the index out
      // of the CPU's cache (a tenth of the join's time per file).
      const joinBlock = (block: EncodedOutputBlock): void => {
        const positions = block.customIds.map((customId) => (customId === null ? ANSWERED_BEFORE : index.claimPosition(customId)));
        const lines = new SplicedResultLines(block, index);
        for (let at = 0; at < positions.length; at += 1) {
          crashPoint('results:mid-download', deps.config);
          const position = positions[at] as number;
          if (position === ANSWERED_BEFORE) continue;
          const outcome = block.outcomes[at] as number;
          if (mode.kind === 'transient' && (outcome & OUTCOME_TRANSIENT) !== 0) retry.add(block.customIds[at] as string);
          else {
            if ((outcome & OUTCOME_SUCCEEDED) !== 0) succeeded += 1;
            else failed += 1;
            results.append(lines.line(at, position));
          }
        }
      };
      const reading: OutputReading = { template: run.template, endpoint: run.endpoint };
      for (const fileId of [shard.output_file_id, shard.error_file_id]) {
        if (fileId === null) continue;
        const download = await (fileId === shard.output_file_id && outputDownload !== null ? outputDownload : downloadFile(deps, fileId));
        // Parsing and encoding the lines is most of the join's work: blocks of the file go to the join
        // threads while the download goes on, and come back in order. A file of one block (small
        // runs) is encoded here, without the trip.
        const encoding: Array<Promise<EncodedOutputBlock>> = [];
        const joinNext = async (): Promise<void> => {
          joinBlock(await (encoding.shift() as Promise<EncodedOutputBlock>));
          await results.drained();
          await progress.report(index.answered);
        };
        let held: Buffer<ArrayBuffer> | null = null;
        let sentAway = false;
        for await (const block of readLineBlocks(download, OUTPUT_BLOCK_BYTES)) {
          if (held !== null) {
            encoding.push(encodeAway(deps, held, reading));
            sentAway = true;
          }
          held = block;
          if (encoding.length >= MAX_BLOCKS_ENCODING) await joinNext();
        }
        if (held !== null) encoding.push(sentAway ? encodeAway(deps, held, reading) : encodeHere(held, reading));
        while (encoding.length > 0) await joinNext();
      }
      // A completed batch whose files answered every request it counted needs no second pass over
      // the requests; any other end (expired, cancelled, failed, a short file) looks for the unanswered.
      const allAnswered = shard.batch_status === 'completed' && shard.request_counts !== null && index.answered >= shard.request_counts.total;
      const lineErrors = allAnswered ? new Map<number, { code: string; message: string }>() : await validationErrorsByLine(deps, shard);
      let lineNumber = 0;
      const requestBatches = allAnswered ? [] : readLineBatches(await deps.storage.get(storageKeys.shardRequests(ref.runId, ref.shard, ref.generation)));
      for await (const batch of requestBatches) {
        for (const raw of batch) {
          lineNumber += 1;
          const customId = (JSON.parse(raw) as { custom_id: string }).custom_id;
          const item = index.claim(customId);
          if (item === undefined) continue;
          const named = lineErrors.get(lineNumber);
          const result = errorResultLine(customId, item, named ?? unansweredReason(shard));
          const retryable =
            mode.kind === 'token-wait' || (mode.kind === 'validation' && named === undefined) || (mode.kind === 'transient' && isTransientFailure(result));
          emit(result, retryable);
        }
        await results.drained();
        await progress.report(index.answered);
      }
      await results.close();
      crashPoint('results:after-result-write', deps.config);
      if (retry.size > 0) nextTokens = await writeNextGeneration(deps, ref, retry);
      await progress.flush(index.answered);
    } finally {
      // Anything thrown before the close leaves no results object behind, nor a download open.
      await results.abort();
      await discard(outputDownload);
    }
    const totals = { succeeded: shard.succeeded + succeeded, failed: shard.failed + failed };
    const log = deps.logger.child({ run_id: ref.runId, shard: ref.shard, generation: ref.generation });
    if (retry.size > 0) {
      // The shard goes round again with only the requests to retry; this generation's final lines are stored.
      const next = { runId: ref.runId, shard: ref.shard, generation: ref.generation + 1 };
      const moved = await deps.ledger.updateShard(ref.runId, ref.shard, { step: ['terminal'], generation: [ref.generation] }, {
        ...totals,
        ...nextGenerationPatch(shard, mode),
        ...NO_BATCH_YET,
        generation: next.generation,
        estimated_tokens: nextTokens,
        previous_batch_ids: shard.batch_id === null ? shard.previous_batch_ids : [...shard.previous_batch_ids, shard.batch_id],
      });
      if (moved === 'applied') {
        await deps.metrics.resultsStored(shard.batch_id, succeeded, failed);
        log.warn({ retrying: retry.size, mode: mode.kind, succeeded, failed }, 'resubmitting failed requests as the next generation');
      }
      const delay = mode.kind === 'token-wait' ? mode.delayMs : 0;
      await enqueue(deps.queues, 'submit', next, { jobId: jobIds.submit(next), delay });
      // A cancel that came since this job read the run found no delayed submission to wake.
      if (delay > 0) await promoteIfCancelled(deps, ref.runId, () => deps.queues.submit.getJob(jobIds.submit(next)));
      return;
    }
    const stored = await deps.ledger.updateShard(ref.runId, ref.shard, { step: ['terminal'], generation: [ref.generation] }, { step: 'stored', ...totals });
    if (stored === 'applied') await deps.metrics.resultsStored(shard.batch_id, succeeded, failed);
    log.info({ succeeded: totals.succeeded, failed: totals.failed }, 'shard results stored');
    await enqueueNotifyWhenDone(deps, ref.runId);
  };
  // V8's own heap growth while joining: see src/heap-growth.ts.
  return async (job) => processHeapGrowth.liftedDuring(() => join(job));
}

/**
 * Bytes of an output file per block sent to a join thread (the download arrives in pieces of about
 * 64 KB). 1 MB rather than 256 KB: a quarter of the messages to and from the threads, each a wake-up
 * of another thread that the job's thread, the join's critical path, pays for (stage 0.37 -> 0.34 s
 * on average over three A/B pairs of the results bench).
 */
const OUTPUT_BLOCK_BYTES = 1024 * 1024;
/** Bytes of a manifest per block the join index keeps its items in (each block is sized to its whole lines). */
const MANIFEST_BLOCK_BYTES = 256 * 1024;
/** Blocks being encoded at once, ahead of the one being joined: each thread has the next at hand. */
const MAX_BLOCKS_ENCODING = 4;

/** Encodes a block on the event loop, now (a bad line throws here). */
const encodeHere = (block: Buffer<ArrayBuffer>, reading: OutputReading): Promise<EncodedOutputBlock> => Promise.resolve(encodeOutputBlock(block, reading));

/** Encodes a block on a join thread (here when there are none); awaited in order by the caller. */
function encodeAway(deps: Deps, block: Buffer<ArrayBuffer>, reading: OutputReading): Promise<EncodedOutputBlock> {
  if (deps.tuning.joinThreads === 0) return encodeHere(block, reading);
  const encoded = deps.outputJoinThreads.run({ block, reading }, [block.buffer]);
  // A block after one that failed is never awaited: its own failure must not count as unhandled.
  encoded.catch(() => undefined);
  return encoded;
}

async function downloadFile(deps: Deps, fileId: string): Promise<Readable> {
  const response = await deps.openai.files.content(fileId);
  if (response.body === null) return Readable.from([]);
  return Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
}

/** Closes a download that was started but may not have been read to its end (a no-op once it was). */
async function discard(download: Promise<Readable> | null): Promise<void> {
  const stream = await download?.catch(() => null);
  stream?.destroy();
}

/** The join's index, holding each request's item reference as stored, for the result lines (items runs only). */
async function loadManifest(deps: Deps, run: RunRecord, shard: number): Promise<ShardJoinIndex> {
  const items = new ShardJoinIndex();
  if (run.input_kind !== 'items') return items;
  for await (const block of readLineBlocks(await deps.storage.get(storageKeys.shardManifest(run.id, shard)), MANIFEST_BLOCK_BYTES)) {
    indexManifestBlock(items, block);
  }
  return items;
}

/** Why requests the batch never answered have no result, from the batch's end state. */
function unansweredReason(shard: ShardRecord): { code: string; message: string } {
  switch (shard.batch_status) {
    case 'expired':
      return { code: 'batch_expired', message: 'the batch expired before this request was processed' };
    case 'cancelled':
      return shard.error ?? { code: 'batch_cancelled', message: 'the batch was cancelled before this request was processed' };
    case 'failed':
      return shard.error ?? { code: 'batch_failed', message: 'the batch failed' };
    default:
      return { code: 'missing_result', message: 'the batch completed without a result for this request' };
  }
}

/** A batch that failed validation names bad input lines; map each to its own reason. */
async function validationErrorsByLine(deps: Deps, shard: ShardRecord): Promise<Map<number, { code: string; message: string }>> {
  const byLine = new Map<number, { code: string; message: string }>();
  if (shard.batch_status !== 'failed' || shard.batch_id === null) return byLine;
  const batch = await deps.openai.batches.retrieve(shard.batch_id);
  for (const error of batch.errors?.data ?? []) {
    if (typeof error.line === 'number') byLine.set(error.line, { code: error.code ?? 'invalid_request', message: error.message ?? 'rejected by validation' });
  }
  return byLine;
}


/** A token_limit_exceeded failure says the model's limit; later shards wait for room under it. */
async function learnTokenLimit(deps: Deps, shard: ShardRecord): Promise<void> {
  if (shard.error?.code !== 'token_limit_exceeded' || shard.model === null) return;
  const limit = enqueuedTokenLimitFrom(shard.error.message);
  if (limit !== null) await deps.tokenBudget.learnLimit(shard.model, limit);
}

/**
 * Writes the requests to retry, as they were sent, as the shard's next generation's input, and returns
 * their estimated tokens: the next generation's budget and any verdict on its size go by what it sends.
 */
async function writeNextGeneration(deps: Deps, ref: { runId: string; shard: number; generation: number }, retry: ReadonlySet<string>): Promise<number> {
  const next = new StoredLinesWriter(deps.storage, storageKeys.shardRequests(ref.runId, ref.shard, ref.generation + 1));
  let tokens = 0;
  try {
    for await (const batch of readLineBatches(await deps.storage.get(storageKeys.shardRequests(ref.runId, ref.shard, ref.generation)))) {
      for (const raw of batch) {
        if (!retry.has((JSON.parse(raw) as { custom_id: string }).custom_id)) continue;
        next.append(raw);
        tokens += estimateTokens(raw);
      }
      await next.drained();
    }
    await next.close();
  } finally {
    await next.abort();
  }
  return tokens;
}
