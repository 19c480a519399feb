import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Deps } from '../deps.js';
import { collectPipeline, type CollectOutcome } from '../pipelines/collection/collect-pipeline.js';
import { describeCollectionFailure } from '../pipelines/collection/collection-failure.js';
import { CollectionLock } from '../pipelines/collection/collection-lock.js';
import { LastCollections, type LastCollection } from '../pipelines/collection/last-collection.js';
import { announceCollectionHealth, rememberCollection, type HealthAnnouncement } from '../pipelines/collection/remember-collection.js';
import { pipelineKeys } from '../pipelines/pipeline-keys.js';
import { PipelineStore } from '../pipelines/pipeline-store.js';
import type { SourceDefinition } from '../pipelines/sources/source-definition.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';

/** How long a collection that finds its pipeline already being collected waits before trying again. */
const BUSY_RETRY_MAX_MS = 2_000;

const skipped = (reason: string): CollectOutcome => ({ runId: null, items: 0, listed: 0, pages: 0, resumed: false, truncated: false, skipped: reason });

/** The record of a collection that ended: what it started, or nothing new. */
const ended = (job: Job, outcome: CollectOutcome): LastCollection => ({
  finished_at: new Date().toISOString(),
  job_id: job.id ?? '',
  outcome: outcome.runId === null ? 'nothing_new' : 'run_started',
  run_id: outcome.runId,
  items: outcome.runId === null ? 0 : outcome.items,
  error: null,
  will_retry: false,
});

/** The record of a failed attempt; BullMQ retries it unless it was the last or cannot succeed. */
const failed = (job: Job, error: unknown, source: SourceDefinition | undefined): LastCollection => ({
  finished_at: new Date().toISOString(),
  job_id: job.id ?? '',
  outcome: 'failed',
  run_id: null,
  items: 0,
  error: describeCollectionFailure(error, source),
  will_retry: !(error instanceof UnrecoverableError) && job.attemptsMade + 1 < (job.opts.attempts ?? 1),
});

/**
 * Collect: lists a pipeline's source and starts a run with the items not
 * collected before (none: no run). One collection per pipeline at a time;
 * a job that finds another one running moves itself to delayed and tries
 * again, which costs no attempt. Returns what it collected, and records it
 * as the pipeline's last collection, as it does each failed attempt: the
 * API cannot see the worker's source, so this is how the user learns that
 * a folder or bucket is missing.
 */
export function createCollectProcessor(deps: Deps): StageProcessor<'collect', CollectOutcome> {
  const store = new PipelineStore(deps.redis, deps.config.BATCHLINE_PREFIX);
  const lockTtlMs = deps.config.BATCHLINE_JOB_LOCK_MS;
  const lastCollections = new LastCollections(deps.redis, deps.config.BATCHLINE_PREFIX);
  return async (job, token) => {
    const { pipelineId, trigger } = parsePayload('collect', job.data);
    const log = deps.logger.child({ pipeline_id: pipelineId, job_id: job.id, trigger });
    // The record (and its Slack message on a change of health) is the user's view of collections, not part of them: it never fails the collection.
    const remember = (startedUs: number | undefined, collection: LastCollection): Promise<HealthAnnouncement | null> =>
      rememberCollection(deps, log, lastCollections, pipelineId, startedUs, collection);
    // Until the pipeline is read there is no webhook of its own: the default one, as for a run without one.
    const announce = (announcement: HealthAnnouncement | null): Promise<void> => announceCollectionHealth(deps, log, announcement, webhookUrl);
    let source: SourceDefinition | undefined;
    let startedUs: number | undefined;
    let webhookUrl: string | null = null;
    try {
      const pipeline = await store.get(pipelineId);
      if (pipeline === null) {
        log.info('the pipeline no longer exists; nothing collected');
        return skipped('pipeline_deleted');
      }
      if (trigger === 'schedule' && !pipeline.definition.enabled) {
        log.info('the pipeline is disabled; scheduled collection skipped');
        return skipped('pipeline_disabled');
      }
      source = pipeline.definition.source;
      webhookUrl = pipeline.definition.notify?.slack_webhook_url ?? null;
      if (source === undefined) throw new UnrecoverableError(`pipeline ${pipelineId} has no source to collect from`);

      const lock = await CollectionLock.acquire(deps.redis, pipelineKeys.lock(deps.config.BATCHLINE_PREFIX, pipelineId), lockTtlMs);
      if (lock === null) {
        if (token === undefined) throw new Error(`pipeline ${pipelineId} is being collected by another job`);
        log.info('another collection of this pipeline is running; this one waits for it');
        await job.moveToDelayed(Date.now() + Math.min(BUSY_RETRY_MAX_MS, lockTtlMs), token);
        throw new DelayedError();
      }
      let outcome: CollectOutcome;
      let announcement: HealthAnnouncement | null = null;
      try {
        startedUs = await lastCollections.clock();
        outcome = await collectPipeline(deps, {
          jobId: job.id ?? `collect-${pipelineId}`,
          pipeline,
          source,
          lock,
          // `progress` (0-100) draws Bull Board's bar: the listing's length is unknown until it ends, so it moves while marking.
          reportProgress: (progress) =>
            job.updateProgress({ progress: progress.stage === 'marking' && progress.new > 0 ? Math.floor(((progress.marked ?? 0) * 100) / progress.new) : 0, ...progress }),
        });
        // Recorded (and its change of health claimed) under the lock, so the next collection's record comes after it. A pipeline deleted meanwhile keeps no record.
        if (outcome.skipped === undefined) announcement = await remember(startedUs, ended(job, outcome));
      } finally {
        await lock.release().catch((error: unknown) => log.warn({ err: String(error) }, 'could not release the collection lock; it expires by itself'));
      }
      // Posted once the lock is free: Slack's retries and waits hold back no other collection of this pipeline.
      await announce(announcement);
      return outcome;
    } catch (error) {
      // A job waiting for the lock has not ended; it comes back.
      if (error instanceof DelayedError) throw error;
      // A failure before the lock was taken (no source) is stamped now.
      await announce(await remember(startedUs, failed(job, error, source)));
      throw error;
    }
  };
}
