import type { Deps } from '../../deps.js';
import type { Logger } from '../../lib/logger.js';
import { collectionMessage } from '../../notify/collection-message.js';
import { PipelineStore } from '../pipeline-store.js';
import { LastCollections, type LastCollection } from './last-collection.js';

/**
 * Records how a collection (or a failed attempt) ended, as the pipeline's
 * last collection, counts a failed attempt in the metrics, and posts to the
 * pipeline's Slack webhook when its health changed: the first failure it
 * gave up on, and the first success after. The change is claimed with the
 * record (one Redis script), so a retried job or the next tick of a
 * persisting failure posts nothing more, and a crash after the claim loses
 * the message rather than sending two.
 *
 * None of this is part of the collection: failing to record or to post
 * is logged and never fails the job.
 */
export async function rememberCollection(deps: Deps, log: Logger, pipelineId: string, startedUs: number | undefined, collection: LastCollection): Promise<void> {
  const lastCollections = new LastCollections(deps.redis, deps.config.BATCHLINE_PREFIX);
  if (collection.outcome === 'failed') await deps.metrics.collectionFailed(pipelineId);
  try {
    const recorded = await lastCollections.record(pipelineId, startedUs ?? (await lastCollections.clock()), collection);
    if (!recorded.written || recorded.change === null) return;
    const pipeline = await new PipelineStore(deps.redis, deps.config.BATCHLINE_PREFIX).get(pipelineId);
    const posted = await deps.slack.post(collectionMessage(pipelineId, recorded.change, collection), pipeline?.definition.notify?.slack_webhook_url ?? null);
    if (posted.delivered) log.info({ health: recorded.change.to }, 'pipeline collection health announced');
    else {
      log.error({ reason: posted.reason, health: recorded.change.to }, 'Slack post of the collection health failed; not posted again');
      await deps.metrics.slackFailed();
    }
  } catch (error) {
    log.warn({ err: String(error) }, 'could not record the outcome of the collection');
  }
}
