import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps.js';
import { ApiError, notFound } from '../lib/api-error.js';
import { jobIds } from '../queues/job-ids.js';
import { enqueue } from '../queues/stage-queues.js';
import { LastCollections, type LastCollection } from './collection/last-collection.js';
import { assertPipelineId, parsePipelinePutBody, type PipelineDefinition } from './pipeline-definition.js';
import { pipelineKeys } from './pipeline-keys.js';
import type { Schedule } from './pipeline-schedule.js';
import { PipelineScheduler } from './pipeline-scheduler.js';
import { PipelineStore, type PipelineOrigin, type PipelineRecord } from './pipeline-store.js';
import { maskWebhookUrl, restoreMaskedWebhookUrl } from './pipeline-webhook-mask.js';
import type { SourceDefinition } from './sources/source-definition.js';
import { isPlainObject } from './templates/template-item.js';
import type { TemplateDefinition } from './templates/template-definition.js';

/** A pipeline as the API shows it: its definition (absent parts as null), when it was defined, its next scheduled run and how its latest collection ended. */
export interface PipelineView {
  id: string;
  schedule: Schedule | null;
  source: SourceDefinition | null;
  template: TemplateDefinition;
  output: { url: string } | null;
  notify: { slack_webhook_url: string } | null;
  enabled: boolean;
  origin: PipelineOrigin;
  created_at: string;
  updated_at: string;
  next_run_at: string | null;
  last_collection: LastCollection | null;
}

export const toPipelineView = (record: PipelineRecord, nextRunAt: string | null, lastCollection: LastCollection | null): PipelineView => ({
  id: record.id,
  schedule: record.definition.schedule ?? null,
  source: record.definition.source ?? null,
  template: record.definition.template,
  output: record.definition.output ?? null,
  notify: record.definition.notify === undefined ? null : { slack_webhook_url: maskWebhookUrl(record.definition.notify.slack_webhook_url) },
  enabled: record.definition.enabled,
  origin: record.origin,
  created_at: record.created_at,
  updated_at: record.updated_at,
  next_run_at: nextRunAt,
  last_collection: lastCollection,
});

/** The body with its webhook URL restored when it carries back, masked, the URL stored for the pipeline (a GET body PUT unchanged). */
function withStoredWebhook(body: unknown, stored: PipelineRecord | null): unknown {
  if (!isPlainObject(body) || !isPlainObject(body['notify'])) return body;
  const given = body['notify']['slack_webhook_url'];
  const url = restoreMaskedWebhookUrl(given, stored?.definition.notify?.slack_webhook_url);
  return url === given ? body : { ...body, notify: { ...body['notify'], slack_webhook_url: url } };
}

/**
 * Defining, listing, removing and triggering pipelines: the stored
 * definition and its BullMQ job scheduler kept in step. A definition is
 * validated whole before anything is written, so a bad one leaves nothing
 * stored and nothing scheduled.
 */
export class PipelineRegistry {
  readonly store: PipelineStore;
  readonly scheduler: PipelineScheduler;
  readonly lastCollections: LastCollections;

  constructor(private readonly deps: Deps) {
    this.store = new PipelineStore(deps.redis, deps.config.BATCHLINE_PREFIX);
    this.scheduler = new PipelineScheduler(deps.queues.collect);
    this.lastCollections = new LastCollections(deps.redis, deps.config.BATCHLINE_PREFIX);
  }

  /** Validates a PUT body (a definition, or the pipeline as GET shows it), then stores and schedules it; `created` tells a new pipeline from a replaced one. */
  async put(id: string, body: unknown, origin: PipelineOrigin = 'api'): Promise<{ created: boolean; pipeline: PipelineView }> {
    assertPipelineId(id);
    const stored = await this.store.get(id);
    const definition = parsePipelinePutBody(id, withStoredWebhook(body, stored));
    return this.apply(id, definition, origin);
  }

  /** Stores and schedules an already validated definition. Unchanged definitions keep their updated_at. */
  async apply(id: string, definition: PipelineDefinition, origin: PipelineOrigin): Promise<{ created: boolean; pipeline: PipelineView }> {
    const existing = await this.store.get(id);
    const now = new Date().toISOString();
    const unchanged = existing !== null && existing.origin === origin && JSON.stringify(existing.definition) === JSON.stringify(definition);
    const record: PipelineRecord = {
      id,
      definition,
      origin,
      created_at: existing?.created_at ?? now,
      updated_at: unchanged ? existing.updated_at : now,
    };
    if (!unchanged) await this.store.put(record);
    // Schedule what is stored now rather than what this call wrote: two PUTs
    // racing on one id then leave the scheduler matching the stored winner.
    const stored = (await this.store.get(id)) ?? record;
    await this.scheduler.sync(id, stored.definition);
    this.deps.logger.info({ pipeline_id: id, origin, created: existing === null, schedule: stored.definition.schedule ?? null }, 'pipeline defined');
    // A replaced pipeline keeps its last collection: it is what happened, until the next one says otherwise.
    return { created: existing === null, pipeline: toPipelineView(stored, await this.scheduler.nextRunAt(id), await this.lastCollections.get(id)) };
  }

  async get(id: string): Promise<PipelineView> {
    const record = await this.require(id);
    const [nextRunAt, lastCollection] = await Promise.all([this.scheduler.nextRunAt(id), this.lastCollections.get(id)]);
    return toPipelineView(record, nextRunAt, lastCollection);
  }

  async list(): Promise<PipelineView[]> {
    const [records, next] = await Promise.all([this.store.list(), this.scheduler.nextRuns()]);
    const last = await this.lastCollections.getMany(records.map((record) => record.id));
    return records.map((record) => toPipelineView(record, next.get(record.id) ?? null, last.get(record.id) ?? null));
  }

  /**
   * Removes the schedule first (no collection starts for a pipeline being
   * deleted), then the definition, what it remembers of collected items and
   * its last collection: a new pipeline under the same id starts afresh.
   * Runs already started go on; a collection still running records nothing
   * once the definition is gone.
   */
  async delete(id: string): Promise<void> {
    assertPipelineId(id);
    if ((await this.store.get(id)) === null) throw notFound('pipeline', id);
    await this.scheduler.sync(id, null);
    await this.store.delete(id);
    const prefix = this.deps.config.BATCHLINE_PREFIX;
    // UNLINK frees a large seen-set in the background instead of blocking Redis.
    await this.deps.redis.unlink(pipelineKeys.seen(prefix, id), pipelineKeys.claim(prefix, id), pipelineKeys.lastCollection(prefix, id));
    this.deps.logger.info({ pipeline_id: id }, 'pipeline deleted');
  }

  /** Enqueues a collection now, outside the schedule; each trigger is its own job. */
  async trigger(id: string): Promise<{ pipeline_id: string; job_id: string }> {
    const record = await this.require(id);
    if (record.definition.source === undefined) {
      throw new ApiError('no_source', `pipeline ${id} has no source to collect from; send its items with POST /v1/runs { "pipeline": "${id}", "items": [...] }`);
    }
    const jobId = `${jobIds.collect({ pipelineId: id }, Date.now())}-${randomBytes(4).toString('hex')}`;
    await enqueue(this.deps.queues, 'collect', { pipelineId: id, trigger: 'manual' }, { jobId });
    this.deps.logger.info({ pipeline_id: id, job_id: jobId }, 'collection triggered');
    return { pipeline_id: id, job_id: jobId };
  }

  async require(id: string): Promise<PipelineRecord> {
    assertPipelineId(id);
    const record = await this.store.get(id);
    if (record === null) throw notFound('pipeline', id);
    return record;
  }
}
