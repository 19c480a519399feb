import type { Deps } from '../deps.js';
import { ApiError } from '../lib/api-error.js';
import { jobIds } from '../queues/job-ids.js';
import { enqueue } from '../queues/stage-queues.js';
import type { RunRecord } from './run-record.js';
import { newRunId } from './new-run-id.js';
import { storageKeys } from './storage-keys.js';

export type RunSpec = Pick<RunRecord, 'pipeline_id' | 'input_kind' | 'endpoint' | 'model' | 'template' | 'source' | 'slack_webhook_url' | 'output_url'> &
  Partial<Pick<RunRecord, 'metadata'>>;

/**
 * Records a run whose input is already on storage and hands it to the build
 * queue. If Redis refuses either step the run is forgotten and its input
 * removed, so a refused POST leaves nothing behind that could start later.
 */
export async function createRun(
  deps: Deps,
  spec: RunSpec,
  writeInput: (runId: string, key: string) => Promise<{ count: number; model?: string | null }>,
  // A collector names the run itself: it records the id (its claim) before the run exists.
  options: { runId?: string } = {},
): Promise<RunRecord> {
  assertRedisReady(deps);
  const runId = options.runId ?? newRunId();
  const inputKey = spec.input_kind === 'items' ? storageKeys.itemsInput(runId) : storageKeys.requestsInput(runId);
  const written = await writeInput(runId, inputKey);
  const now = new Date().toISOString();
  const run: RunRecord = {
    ...spec,
    metadata: spec.metadata ?? null,
    model: written.model === undefined ? spec.model : written.model,
    id: runId,
    phase: 'queued',
    created_at: now,
    updated_at: now,
    finished_at: null,
    items: written.count,
    rejected: 0,
    shard_count: null,
    cancel_requested: false,
    error: null,
    results_url: null,
    errors_url: null,
  };
  try {
    assertRedisReady(deps);
    await deps.ledger.createRun(run);
    await enqueue(deps.queues, 'build', { runId }, { jobId: jobIds.build({ runId }) });
  } catch (error) {
    await deps.ledger.forgetRun(runId, spec.pipeline_id).catch(() => undefined);
    await deps.storage.delete(inputKey).catch(() => undefined);
    throw error instanceof ApiError ? error : new ApiError('unavailable', 'the queue store (Redis) is unavailable; the run was not accepted');
  }
  deps.logger.info({ run_id: runId, pipeline_id: spec.pipeline_id, items: written.count }, 'run accepted');
  return run;
}

/** Answers at once when Redis is down instead of letting a request wait on reconnects. */
export function assertRedisReady(deps: Deps): void {
  if (deps.redis.status !== 'ready') throw new ApiError('unavailable', 'the queue store (Redis) is unavailable; try again shortly');
}
