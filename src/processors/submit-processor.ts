import { DelayedError, type Job } from 'bullmq';
import type OpenAI from 'openai';
import type { Batch, BatchCreateParams } from 'openai/resources/batches';
import type { Deps } from '../deps.js';
import { errorMessage, isPermanentError } from '../lib/permanent-error.js';
import { uploadBatchFile } from '../lib/upload-batch-file.js';
import { jobIds } from '../queues/job-ids.js';
import type { JobPayloads } from '../queues/job-payloads.js';
import { enqueue } from '../queues/stage-queues.js';
import { batchMetadata, matchesShard } from '../runs/batch-metadata.js';
import type { ShardRecord } from '../runs/run-record.js';
import { storageKeys } from '../runs/storage-keys.js';
import { withLocalFile } from '../storage/with-local-file.js';
import { isLastAttempt } from './attempts.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';
import { markShardTerminal } from './mark-shard-terminal.js';
import { budgetHolder, tokenLimitRefusal } from '../runs/token-budget.js';
import type { Logger } from '../lib/logger.js';
import { crashPoint } from '../lib/crash-point.js';
import { progressReporter } from './job-progress.js';
import { promoteIfCancelled } from '../runs/wake-for-cancel.js';

type ShardRef = JobPayloads['submit'];

/**
 * Submit: upload the shard's JSONL and create its batch, exactly once in
 * effect. The ledger step `creating` is written before batches.create (with
 * SDK retries off); after an ambiguous failure, or a worker that died in
 * `creating`, the shard is reconciled against the batches that exist before
 * anything is created again.
 */
export function createSubmitProcessor(deps: Deps): StageProcessor<'submit'> {
  return async (job, token) => {
    const ref = parsePayload('submit', job.data);
    const { ledger } = deps;
    const log = deps.logger.child({ run_id: ref.runId, shard: ref.shard, generation: ref.generation });
    const run = await ledger.getRun(ref.runId);
    let shard = await ledger.getShard(ref.runId, ref.shard);
    if (run === null || shard === null || shard.generation !== ref.generation) return;

    if (run.cancel_requested && (shard.step === 'planned' || shard.step === 'uploaded')) {
      await markShardTerminal(deps, ref, shard.step, { batch_status: 'cancelled', error: { code: 'cancelled', message: 'the run was cancelled before this shard was submitted' } });
      return;
    }

    if (shard.step === 'planned') {
      const limit = await deps.tokenBudget.limitOf(shard.model ?? '');
      // Refused before the upload when the shard has proved too big for the limit, or has waited long enough.
      const refusal = tokenLimitRefusal(shard, limit, deps.tuning);
      if (refusal !== null) {
        await refuseForTokenLimit(deps, log, ref, 'planned', refusal);
        return;
      }
      const fileBytes = shard.bytes;
      const upload = progressReporter(job, 'uploading', 'bytes', fileBytes);
      await upload.flush(0);
      // Bytes on the wire include a little multipart framing: never show more than the file.
      const onProgress = (sent: number): void => void upload.report(Math.min(sent, fileBytes)).catch(() => undefined);
      let file;
      try {
        file = await withLocalFile(deps.storage, storageKeys.shardRequests(ref.runId, ref.shard, ref.generation), deps.workDir, (filePath) =>
          uploadBatchFile(deps.openai, filePath, `batchline-${ref.runId}-s${ref.shard}-g${ref.generation}.jsonl`, { onProgress }),
        );
      } catch (error) {
        // Refused for good (a bad key, a file OpenAI will not take), or out of attempts: the shard ends
        // failed so the run reports it, instead of retrying for ever.
        if (!isPermanentError(error) && !isLastAttempt(job)) throw error;
        log.error({ err: errorMessage(error) }, 'shard upload failed for good');
        await markShardTerminal(deps, ref, 'planned', { batch_status: 'failed', error: { code: 'upload_failed', message: errorMessage(error) } });
        return;
      }
      await upload.flush(fileBytes);
      crashPoint('submit:after-upload', deps.config);
      await ledger.updateShard(ref.runId, ref.shard, { step: ['planned'], generation: [ref.generation] }, { step: 'uploaded', input_file_id: file.id });
      log.info({ file_id: file.id, bytes: shard.bytes }, 'shard uploaded');
      shard = await reload(deps, ref);
    }

    if (shard.step === 'uploaded') {
      // Wait for room under the model's enqueued-token limit rather than create a batch bound to fail.
      const reservation = await deps.tokenBudget.reserve(shard.model ?? '', budgetHolder(ref), shard.estimated_tokens);
      if (reservation.kind !== 'reserved') {
        const refusal = tokenLimitRefusal(shard, reservation.limit, deps.tuning);
        if (refusal !== null) {
          await refuseForTokenLimit(deps, log, ref, 'uploaded', refusal);
          return;
        }
        // The run view shows since when the shard waits; the first wait starts the clock that bounds it.
        if (shard.token_wait_since === null) {
          await ledger.updateShard(ref.runId, ref.shard, { step: ['uploaded'], generation: [ref.generation], token_wait_since: [null] }, { token_wait_since: Date.now() });
        }
        log.info({ tokens: shard.estimated_tokens, model: shard.model, limit: reservation.limit }, 'waiting for room in the model\'s enqueued-token budget');
        await job.moveToDelayed(Date.now() + deps.tuning.tokenBudgetRecheckMs, token);
        // A cancel that came while this job ran found nothing delayed to wake.
        await promoteIfCancelled(deps, ref.runId, () => Promise.resolve(job));
        throw new DelayedError();
      }
      await ledger.updateShard(ref.runId, ref.shard, { step: ['uploaded'], generation: [ref.generation] }, { step: 'creating', creating_since: Date.now(), created_alone: reservation.alone });
      shard = await reload(deps, ref);
    }

    if (shard.step === 'creating') {
      await job.updateProgress({ progress: 100, step: 'creating batch' });
      crashPoint('submit:inside-creating', deps.config);
      const batch = await adoptOrCreate(deps, job, ref, shard, run.endpoint, batchMetadata(ref, run.pipeline_id, run.metadata));
      if (batch === null) return;
      crashPoint('submit:after-create', deps.config);
      const created = await ledger.updateShard(
        ref.runId,
        ref.shard,
        { step: ['creating'], generation: [ref.generation] },
        { step: 'created', batch_id: batch.id, batch_status: batch.status, expires_at: batch.expires_at ?? null },
      );
      await ledger.rememberBatch(batch.id, ref);
      if (created === 'applied') await deps.metrics.batchCreated();
      log.info({ batch_id: batch.id }, 'batch created');
      shard = await reload(deps, ref);
    }

    // From here on the shard has its batch: make sure something watches it.
    if (shard.step === 'created' && shard.batch_id !== null) {
      const payload = { ...ref, batchId: shard.batch_id, checks: 0 };
      await enqueue(deps.queues, 'poll', payload, { jobId: jobIds.poll(payload), delay: deps.tuning.pollInitialMs });
    }
  };
}

/** Ends a shard the enqueued-token limit will never let through; each of its requests gets the reason as its error. */
async function refuseForTokenLimit(deps: Deps, log: Logger, ref: ShardRef, step: 'planned' | 'uploaded', refusal: { code: string; message: string }): Promise<void> {
  log.error({ code: refusal.code }, refusal.message);
  await markShardTerminal(deps, ref, step, { batch_status: 'failed', error: refusal });
}

async function reload(deps: Deps, ref: ShardRef): Promise<ShardRecord> {
  const shard = await deps.ledger.getShard(ref.runId, ref.shard);
  if (shard === null) throw new Error(`shard ${ref.shard} of ${ref.runId} vanished from the ledger`);
  return shard;
}

/**
 * Returns the shard's batch: one found by reconciliation, or a new one.
 * Null when the submission failed for good (the shard is then terminal).
 */
async function adoptOrCreate(
  deps: Deps,
  job: Job,
  ref: ShardRef,
  shard: ShardRecord,
  endpoint: string,
  metadata: Record<string, string>,
): Promise<Batch | null> {
  const log = deps.logger.child({ run_id: ref.runId, shard: ref.shard, generation: ref.generation });
  const existing = await findExistingBatch(deps, ref, shard);
  if (existing !== null) {
    log.warn({ batch_id: existing.id }, 'adopted a batch created by an earlier attempt');
    return existing;
  }
  if (shard.input_file_id === null) throw new Error('shard in creating without an input file');
  try {
    return await deps.openai.batches.create(
      {
        input_file_id: shard.input_file_id,
        endpoint: endpoint as BatchCreateParams['endpoint'],
        completion_window: '24h',
        metadata,
      },
      // No SDK retries: a retried POST after a lost response is a second, billed batch.
      { maxRetries: 0 },
    );
  } catch (error) {
    if (isPermanentError(error)) {
      log.error({ err: errorMessage(error) }, 'batch creation refused');
      await markShardTerminal(deps, ref, 'creating', { batch_status: 'failed', error: { code: 'submission_refused', message: errorMessage(error) } });
      return null;
    }
    if (isLastAttempt(job)) {
      // One more look: the last attempt's create may have gone through.
      const late = await findExistingBatch(deps, ref, shard);
      if (late !== null) return late;
      await markShardTerminal(deps, ref, 'creating', { batch_status: 'failed', error: { code: 'submission_failed', message: errorMessage(error) } });
      return null;
    }
    throw error;
  }
}

/**
 * Lists batches newest first back to shortly before the shard entered
 * `creating` and returns the one made for this (run, shard, generation).
 * Two found: keep the oldest, cancel the rest, and say so loudly.
 */
export async function findExistingBatch(deps: Deps, ref: ShardRef, shard: ShardRecord): Promise<Batch | null> {
  const since = Math.floor(((shard.creating_since ?? Date.now()) - deps.tuning.reconcileWindowMs) / 1000);
  const matches: Batch[] = [];
  for await (const batch of deps.openai.batches.list({ limit: 100 })) {
    if (batch.created_at < since) break;
    const sameInput = shard.input_file_id !== null && batch.input_file_id === shard.input_file_id;
    if (matchesShard(batch.metadata as Record<string, string> | null, ref) || sameInput) matches.push(batch);
  }
  if (matches.length === 0) return null;
  matches.sort((a, b) => a.created_at - b.created_at);
  const [keep, ...extra] = matches as [Batch, ...Batch[]];
  for (const duplicate of extra) {
    deps.logger.error({ run_id: ref.runId, shard: ref.shard, kept: keep.id, duplicate: duplicate.id }, 'DUPLICATE BATCH for one shard: cancelling the extra one');
    await cancelQuietly(deps.openai, duplicate.id);
  }
  return keep;
}

async function cancelQuietly(openai: OpenAI, batchId: string): Promise<void> {
  try {
    await openai.batches.cancel(batchId);
  } catch {
    // Already terminal or cancelling: nothing more to do.
  }
}
