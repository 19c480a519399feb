import type { Deps } from '../../deps.js';
import type { Logger } from '../../lib/logger.js';
import { collectionMessage } from '../../notify/collection-message.js';
import type { HealthChange, LastCollection, LastCollections } from './last-collection.js';

/** A change of a pipeline's collection health, claimed with its record and still to be posted. */
export interface HealthAnnouncement {
  pipelineId: string;
  change: HealthChange;
  collection: LastCollection;
}

/**
 * Records how a collection (or a failed attempt) ended, as the pipeline's
 * last collection, and counts a failed attempt in the metrics. When the
 * pipeline's health changed (the first failure it gave up on, the first
 * success after), returns the announcement to post: the change is claimed
 * with the record (one Redis script), so a retried job or the next tick of
 * a persisting failure gets none, and a crash after the claim loses the
 * message rather than sending two.
 *
 * None of this is part of the collection: failing to record is logged and
 * never fails the job.
 */
export async function rememberCollection(
  deps: Deps,
  log: Logger,
  lastCollections: LastCollections,
  pipelineId: string,
  startedUs: number | undefined,
  collection: LastCollection,
): Promise<HealthAnnouncement | null> {
  if (collection.outcome === 'failed') await deps.metrics.collectionFailed(pipelineId);
  try {
    const recorded = await lastCollections.record(pipelineId, startedUs ?? (await lastCollections.clock()), collection);
    return recorded.written && recorded.change !== null ? { pipelineId, change: recorded.change, collection } : null;
  } catch (error) {
    log.warn({ err: String(error) }, 'could not record the outcome of the collection');
    return null;
  }
}

/**
 * Posts a claimed change of health to the pipeline's Slack webhook (the
 * default one when it has none). Called after the collection lock is
 * released: the post retries with waits (a 429 asks up to a minute), which
 * must not hold back the pipeline's next collection. A failed post is
 * logged and counted, never posted again, and never fails the job.
 */
export async function announceCollectionHealth(deps: Deps, log: Logger, announcement: HealthAnnouncement | null, webhookUrl: string | null): Promise<void> {
  if (announcement === null) return;
  const { pipelineId, change, collection } = announcement;
  try {
    const posted = await deps.slack.post(collectionMessage(pipelineId, change, collection), webhookUrl);
    if (posted.delivered) log.info({ health: change.to }, 'pipeline collection health announced');
    else {
      log.error({ reason: posted.reason, health: change.to }, 'Slack post of the collection health failed; not posted again');
      await deps.metrics.slackFailed();
    }
  } catch (error) {
    log.warn({ err: String(error) }, 'could not announce the collection health');
  }
}
