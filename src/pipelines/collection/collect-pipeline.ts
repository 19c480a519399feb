import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Deps } from '../../deps.js';
import { readLines } from '../../lib/jsonl.js';
import { LineFileWriter } from '../../lib/line-file-writer.js';
import type { Logger } from '../../lib/logger.js';
import { testPausePoint } from '../../lib/test-pause-point.js';
import { jobIds } from '../../queues/job-ids.js';
import { enqueue } from '../../queues/stage-queues.js';
import { createRun, type RunSpec } from '../../runs/create-run.js';
import { newRunId } from '../../runs/new-run-id.js';
import { storageKeys } from '../../runs/storage-keys.js';
import { StorageNotFoundError } from '../../storage/object-storage.js';
import { pipelineKeys } from '../pipeline-keys.js';
import type { PipelineRecord } from '../pipeline-store.js';
import type { ItemSource, SourceObject } from '../sources/item-source.js';
import type { SourceDefinition } from '../sources/source-definition.js';
import { endpointOfTemplate, modelOf } from '../templates/template-definition.js';
import { CollectionClaim } from './collection-claim.js';
import type { CollectionLock } from './collection-lock.js';
import { createCollectionSource } from './collection-source.js';
import { SeenItems } from './seen-items.js';

/** A collected item, one NDJSON line of the run's input: what templates and placeholders see. */
export interface CollectedItem {
  key: string;
  version: string;
  size: number;
  last_modified: string;
  content_type?: string;
}

export interface CollectProgress {
  stage: 'listing' | 'recording' | 'marking';
  pages: number;
  listed: number;
  new: number;
  marked?: number;
}

/** The collect job's return value (visible in Bull Board and to QueueEvents listeners). */
export interface CollectOutcome {
  /** The run started with the new items; null when there were none (no run is started for nothing). */
  runId: string | null;
  items: number;
  /** Objects the listing returned (after the source's filters). */
  listed: number;
  pages: number;
  /** True when this was a repeat delivery that finished the run its first delivery had recorded. */
  resumed: boolean;
  /** New items left for the next collection because of max_items_per_run. */
  truncated: boolean;
  /** Why nothing was collected, when the job did not run a collection at all. */
  skipped?: string;
}

export interface CollectContext {
  jobId: string;
  pipeline: PipelineRecord;
  source: SourceDefinition;
  lock: CollectionLock;
  reportProgress(progress: CollectProgress): Promise<void>;
}

const toItem = (object: SourceObject): CollectedItem => ({
  key: object.key,
  version: object.version,
  size: object.size,
  last_modified: object.lastModified,
  ...(object.contentType === undefined ? {} : { content_type: object.contentType }),
});

/**
 * One collection of a pipeline, under its lock: finish whatever an earlier
 * collection left half-done, list the source page by page into a local
 * NDJSON file keeping only new items (never the listing in memory), start a
 * run with them, then mark them seen. The order makes a crash at any step
 * harmless: items become "seen" only after their run is recorded, and the
 * claim written before the run lets the next collection finish the marking.
 */
export async function collectPipeline(deps: Deps, context: CollectContext): Promise<CollectOutcome> {
  const { pipeline, jobId, lock } = context;
  const prefix = deps.config.BATCHLINE_PREFIX;
  const log = deps.logger.child({ pipeline_id: pipeline.id, job_id: jobId });
  const pause = (point: string): Promise<void> => testPausePoint(deps.config.BATCHLINE_TEST_PAUSE_AT, point, log);
  const seen = new SeenItems(deps.redis, pipelineKeys.seen(prefix, pipeline.id));
  const claim = new CollectionClaim(deps.redis, pipelineKeys.claim(prefix, pipeline.id));

  const earlier = await finishUnfinishedClaim(deps, claim, seen, log);
  // A repeat delivery of the job that recorded that run: the run is this job's result.
  if (earlier !== null && earlier.jobId === jobId) {
    return { runId: earlier.runId, items: earlier.items, listed: earlier.items, pages: 0, resumed: true, truncated: false };
  }

  const source = createCollectionSource(context.source, deps.s3, seen);
  const runId = newRunId();
  const file = new LineFileWriter(path.join(deps.workDir, `collect-${pipeline.id}-${runId}.ndjson`));
  try {
    const listing = await listNewItems(source, seen, file, context, pause);
    await file.close();
    if (listing.items === 0) {
      log.info({ source: source.describe(), listed: listing.listed, pages: listing.pages }, 'no new items; no run started');
      return { runId: null, items: 0, listed: listing.listed, pages: listing.pages, resumed: false, truncated: false };
    }

    // Nothing below may run without the lock: another collector could list the same items.
    await lock.confirm();
    // Deleted while listing (DELETE does not wait for collections): start no run for a pipeline that is gone.
    if ((await deps.redis.hexists(pipelineKeys.index(prefix), pipeline.id)) === 0) {
      log.info('the pipeline was deleted during the collection; no run started');
      return { runId: null, items: 0, listed: listing.listed, pages: listing.pages, resumed: false, truncated: false, skipped: 'pipeline_deleted' };
    }
    await claim.set({ job_id: jobId, run_id: runId, claimed_at: new Date().toISOString() });
    await context.reportProgress({ stage: 'recording', pages: listing.pages, listed: listing.listed, new: listing.items });
    await pause('collect:after-claim');
    const run = await createRun(deps, runSpecOf(pipeline, context.source), async (_runId, key) => {
      await deps.storage.put(key, createReadStream(file.path));
      return { count: listing.items };
    }, { runId });
    await pause('collect:after-run-created');

    let chunks = 0;
    await seen.markFromLines(readLines(createReadStream(file.path)), async (marked) => {
      chunks += 1;
      await context.reportProgress({ stage: 'marking', pages: listing.pages, listed: listing.listed, new: listing.items, marked });
      await pause(`collect:after-seen-chunk:${chunks}`);
    });
    await claim.clear();
    log.info({ run_id: run.id, items: listing.items, listed: listing.listed, pages: listing.pages, truncated: listing.truncated, source: source.describe() }, 'collected new items into a run');
    return { runId: run.id, items: listing.items, listed: listing.listed, pages: listing.pages, resumed: false, truncated: listing.truncated };
  } finally {
    await file.close();
    await rm(file.path, { force: true });
  }
}

function runSpecOf(pipeline: PipelineRecord, source: SourceDefinition): RunSpec {
  const { template, notify, output } = pipeline.definition;
  return {
    pipeline_id: pipeline.id,
    input_kind: 'items',
    endpoint: endpointOfTemplate(template),
    model: modelOf(template),
    template,
    // The build stage opens each item's bytes through the same source.
    source,
    slack_webhook_url: notify?.slack_webhook_url ?? null,
    output_url: output?.url ?? null,
  };
}

async function listNewItems(
  source: ItemSource,
  seen: SeenItems,
  file: LineFileWriter,
  context: CollectContext,
  pause: (point: string) => Promise<void>,
): Promise<{ listed: number; pages: number; items: number; truncated: boolean }> {
  const max = context.source.max_items_per_run;
  let listed = 0;
  let pages = 0;
  let items = 0;
  let truncated = false;
  for await (const page of source.listPages()) {
    context.lock.assertHeld();
    pages += 1;
    listed += page.length;
    // One HMGET per page: only the page and its versions are in memory, never the listing.
    const versions = await seen.versionsOf(page.map((object) => object.key));
    for (const [index, object] of page.entries()) {
      if (versions[index] === object.version) continue;
      if (max !== undefined && items >= max) {
        truncated = true;
        break;
      }
      await file.write(JSON.stringify(toItem(object)));
      items += 1;
    }
    await context.reportProgress({ stage: 'listing', pages, listed, new: items });
    await pause(`collect:after-page:${pages}`);
    // The rest wait for the next collection; listing further would only read pages to drop them.
    if (truncated) break;
  }
  return { listed, pages, items, truncated };
}

/**
 * Completes a collection that died after writing its claim. Its run exists:
 * the build is (re)queued if it never was, and the run's items are marked
 * seen from its stored input. Its run does not exist: the items were never
 * handed to a run, so the claim is dropped and they count as new again.
 */
async function finishUnfinishedClaim(
  deps: Deps,
  claim: CollectionClaim,
  seen: SeenItems,
  log: Logger,
): Promise<{ jobId: string; runId: string; items: number } | null> {
  const record = await claim.get();
  if (record === null) return null;
  const run = await deps.ledger.getRun(record.run_id);
  if (run === null) {
    await deps.storage.delete(storageKeys.itemsInput(record.run_id)).catch(() => undefined);
    await claim.clear();
    log.warn({ earlier_job_id: record.job_id, run_id: record.run_id }, 'an earlier collection stopped before recording its run; its items are still new');
    return null;
  }
  // Recorded but the build job may never have been added (a crash between the two): ids are deterministic, so this is a no-op otherwise.
  if (run.phase === 'queued') await enqueue(deps.queues, 'build', { runId: run.id }, { jobId: jobIds.build({ runId: run.id }) });
  try {
    const marked = await seen.markFromLines(readLines(await deps.storage.get(storageKeys.itemsInput(run.id))));
    log.info({ earlier_job_id: record.job_id, run_id: run.id, marked }, 'finished an earlier collection: its run\'s items are now marked collected');
  } catch (error) {
    if (!(error instanceof StorageNotFoundError)) throw error;
    // Without the run's input its items cannot be known; collecting them again beats blocking the pipeline forever.
    log.error({ run_id: run.id }, 'the input of an earlier collection\'s run is gone; its items may be collected again');
  }
  await claim.clear();
  return { jobId: record.job_id, runId: run.id, items: run.items };
}

