import { DelayedError } from 'bullmq';
import type { Deps } from '../deps.js';
import { isTerminalBatchStatus } from '../lib/batch-limits.js';
import { jobIds } from '../queues/job-ids.js';
import { enqueue } from '../queues/stage-queues.js';
import { nextPollDelay } from './poll-cadence.js';
import { progressReporter } from './job-progress.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';

/**
 * Poll: one `retrieve` per due check. A batch that is still running puts
 * the job back as delayed (moveToDelayed + DelayedError): no worker time and
 * no attempt is spent while OpenAI works, and nothing is held open per batch.
 */
export function createPollProcessor(deps: Deps): StageProcessor<'poll'> {
  return async (job, token) => {
    const ref = parsePayload('poll', job.data);
    const shardRef = { runId: ref.runId, shard: ref.shard, generation: ref.generation };
    const shard = await deps.ledger.getShard(ref.runId, ref.shard);
    // Another generation or batch took over, or results are already under way.
    if (shard === null || shard.generation !== ref.generation || shard.batch_id !== ref.batchId || shard.step !== 'created') return;

    const batch = await deps.openai.batches.retrieve(ref.batchId);
    await deps.metrics.pollChecked();
    const observed = {
      batch_status: batch.status,
      request_counts: batch.request_counts ?? null,
      output_file_id: batch.output_file_id ?? null,
      error_file_id: batch.error_file_id ?? null,
      expires_at: batch.expires_at ?? null,
      error: batch.errors?.data?.[0] === undefined ? null : { code: batch.errors.data[0].code ?? 'batch_failed', message: describeBatchErrors(batch.errors.data) },
    };
    const log = deps.logger.child({ run_id: ref.runId, shard: ref.shard, batch_id: ref.batchId });

    if (isTerminalBatchStatus(batch.status)) {
      const moved = await deps.ledger.updateShard(ref.runId, ref.shard, { step: ['created'], batch_id: [ref.batchId] }, { ...observed, step: 'terminal' });
      if (moved === 'applied') {
        log.info({ status: batch.status, counts: batch.request_counts }, 'batch finished');
        await deps.metrics.batchFinished(ref.batchId, batch.status, endedAtMs(batch));
      }
      await enqueue(deps.queues, 'results', shardRef, { jobId: jobIds.results(shardRef) });
      return;
    }

    await deps.ledger.updateShard(ref.runId, ref.shard, { step: ['created'], batch_id: [ref.batchId] }, observed);
    const run = await deps.ledger.getRun(ref.runId);
    if (run?.cancel_requested === true && batch.status !== 'cancelling') {
      await deps.openai.batches.cancel(ref.batchId);
      log.info('cancel requested for a running batch');
    }

    const now = Date.now();
    const expiresAtMs = batch.expires_at === null || batch.expires_at === undefined ? null : batch.expires_at * 1000;
    if (expiresAtMs !== null && now > expiresAtMs + deps.tuning.pollDeadlineMarginMs) {
      // OpenAI ends every batch by its expiry; one still running long after is reported, not waited on forever.
      log.error('batch still not terminal long after its expiry: ending the shard as expired');
      const gaveUp = await deps.ledger.updateShard(ref.runId, ref.shard, { step: ['created'], batch_id: [ref.batchId] }, {
        step: 'terminal',
        batch_status: 'expired',
        error: { code: 'batch_expired', message: `batch ${ref.batchId} did not finish by its expiry` },
      });
      if (gaveUp === 'applied') await deps.metrics.batchFinished(ref.batchId, 'expired', null);
      await enqueue(deps.queues, 'results', shardRef, { jobId: jobIds.results(shardRef) });
      return;
    }

    const delay = nextPollDelay(ref.checks, now, expiresAtMs, deps.tuning);
    await job.updateData({ ...ref, checks: ref.checks + 1 });
    // The batch's own count of finished requests: what the board shows while a batch runs.
    const counts = batch.request_counts;
    if (counts !== undefined && counts !== null) await progressReporter(job, `batch ${batch.status}`, 'requests', counts.total).flush(counts.completed + counts.failed);
    await job.moveToDelayed(now + delay, token);
    throw new DelayedError();
  };
}

/** When OpenAI says the batch ended (its timestamps are in seconds); null when it gives none. */
function endedAtMs(batch: { completed_at?: number | null; failed_at?: number | null; expired_at?: number | null; cancelled_at?: number | null }): number | null {
  const seconds = batch.completed_at ?? batch.failed_at ?? batch.expired_at ?? batch.cancelled_at ?? null;
  return seconds === null ? null : seconds * 1000;
}

const describeBatchErrors = (errors: Array<{ code?: string; message?: string; line?: number | null }>): string =>
  errors
    .slice(0, 5)
    .map((error) => `${error.code ?? 'error'}${error.line === null || error.line === undefined ? '' : ` (line ${error.line})`}: ${error.message ?? ''}`)
    .join('; ') + (errors.length > 5 ? `; and ${errors.length - 5} more` : '');
