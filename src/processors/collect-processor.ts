import { DelayedError, UnrecoverableError } from 'bullmq';
import type { Deps } from '../deps.js';
import { collectPipeline, type CollectOutcome } from '../pipelines/collection/collect-pipeline.js';
import { CollectionLock } from '../pipelines/collection/collection-lock.js';
import { pipelineKeys } from '../pipelines/pipeline-keys.js';
import { PipelineStore } from '../pipelines/pipeline-store.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';

/** How long a collection that finds its pipeline already being collected waits before trying again. */
const BUSY_RETRY_MAX_MS = 2_000;

const skipped = (reason: string): CollectOutcome => ({ runId: null, items: 0, listed: 0, pages: 0, resumed: false, truncated: false, skipped: reason });

/**
 * Collect: lists a pipeline's source and starts a run with the items not
 * collected before (none: no run). One collection per pipeline at a time;
 * a job that finds another one running moves itself to delayed and tries
 * again, which costs no attempt. Returns what it collected.
 */
export function createCollectProcessor(deps: Deps): StageProcessor<'collect', CollectOutcome> {
  const store = new PipelineStore(deps.redis, deps.config.BATCHLINE_PREFIX);
  const lockTtlMs = deps.config.BATCHLINE_JOB_LOCK_MS;
  return async (job, token) => {
    const { pipelineId, trigger } = parsePayload('collect', job.data);
    const log = deps.logger.child({ pipeline_id: pipelineId, job_id: job.id, trigger });
    const pipeline = await store.get(pipelineId);
    if (pipeline === null) {
      log.info('the pipeline no longer exists; nothing collected');
      return skipped('pipeline_deleted');
    }
    if (trigger === 'schedule' && !pipeline.definition.enabled) {
      log.info('the pipeline is disabled; scheduled collection skipped');
      return skipped('pipeline_disabled');
    }
    const source = pipeline.definition.source;
    if (source === undefined) throw new UnrecoverableError(`pipeline ${pipelineId} has no source to collect from`);

    const lock = await CollectionLock.acquire(deps.redis, pipelineKeys.lock(deps.config.BATCHLINE_PREFIX, pipelineId), lockTtlMs);
    if (lock === null) {
      if (token === undefined) throw new Error(`pipeline ${pipelineId} is being collected by another job`);
      log.info('another collection of this pipeline is running; this one waits for it');
      await job.moveToDelayed(Date.now() + Math.min(BUSY_RETRY_MAX_MS, lockTtlMs), token);
      throw new DelayedError();
    }
    try {
      return await collectPipeline(deps, {
        jobId: job.id ?? `collect-${pipelineId}`,
        pipeline,
        source,
        lock,
        // `progress` (0-100) draws Bull Board's bar: the listing's length is unknown until it ends, so it moves while marking.
        reportProgress: (progress) =>
          job.updateProgress({ progress: progress.stage === 'marking' && progress.new > 0 ? Math.floor(((progress.marked ?? 0) * 100) / progress.new) : 0, ...progress }),
      });
    } finally {
      await lock.release().catch((error: unknown) => log.warn({ err: String(error) }, 'could not release the collection lock; it expires by itself'));
    }
  };
}
