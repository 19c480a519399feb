import assert from 'node:assert/strict';
import { QUEUE_NAMES } from '../../src/queues/queue-names.js';
import { LIVE_JOB_STATES } from './fault-harness.js';
import type { TestService } from './test-service.js';

export interface FaultOracleOptions {
  runId: string;
  /** Every custom_id the run was given. */
  customIds: readonly string[];
  /** The scenario killed a worker after the Slack claim: the run's one post may be lost, never doubled. */
  slackMayBeLost?: boolean;
  /** Failed jobs of the run the scenario expects (jobs stalled too often by repeated kills, after their step was done). */
  allowFailed?: (job: { id: string; failedReason: string }) => boolean;
  /** How long jobs of the run may take to drain after its final status (a notify job still posting). */
  settleMs?: number;
}

export interface OracleFindings {
  /** Batches of the run at the emulator, one per (shard, generation). */
  batches: number;
  /** Highest generation of any shard. */
  maxGeneration: number;
  slackPosts: number;
  /** Failed jobs of the run that the scenario allowed. */
  allowedFailedJobs: string[];
}

/**
 * The oracles every fault scenario ends with:
 * - exactly one batch per (run, shard, generation) at "OpenAI" (the emulator's own ledger);
 * - every custom_id of the run exactly once in GET /v1/runs/:id/results;
 * - at most one Slack post for the run (exactly one unless the scenario killed after the claim);
 * - no job of the run stuck: nothing left waiting, delayed or active, and no failed job the scenario did not expect.
 */
export async function assertFaultOracles(t: TestService, options: FaultOracleOptions): Promise<OracleFindings> {
  const { runId } = options;

  const batches = t.emulator.ledger.batches({ metadata: { batchline_run: runId } });
  const byKey = new Map<string, string[]>();
  for (const batch of batches) {
    const shard = batch.metadata?.['batchline_shard'];
    const generation = batch.metadata?.['batchline_generation'];
    assert.ok(shard !== undefined && generation !== undefined, `batch ${batch.id} carries its shard and generation`);
    const key = `shard ${shard} generation ${generation}`;
    byKey.set(key, [...(byKey.get(key) ?? []), batch.id]);
  }
  const duplicated = [...byKey.entries()].filter(([, ids]) => ids.length > 1);
  assert.deepEqual(duplicated, [], 'exactly one batch per (run, shard, generation)');
  for (const shard of await t.service.deps.ledger.getShards(runId)) {
    if (shard.batch_id !== null) assert.ok(t.emulator.ledger.batch(shard.batch_id), `the ledger's batch ${shard.batch_id} exists at OpenAI`);
  }

  const response = await t.request('GET', `/v1/runs/${runId}/results`);
  assert.equal(response.status, 200, `results of ${runId}: ${response.text.slice(0, 500)}`);
  const seen = new Map<string, number>();
  for (const line of response.text.split('\n')) {
    if (line === '') continue;
    const customId = (JSON.parse(line) as { custom_id: string }).custom_id;
    seen.set(customId, (seen.get(customId) ?? 0) + 1);
  }
  const repeated = [...seen.entries()].filter(([, count]) => count > 1).map(([customId]) => customId);
  assert.deepEqual(repeated.slice(0, 20), [], 'no custom_id twice in the results');
  const missing = options.customIds.filter((customId) => !seen.has(customId));
  assert.deepEqual(missing.slice(0, 20), [], 'every custom_id of the run in the results');
  assert.equal(seen.size, options.customIds.length, 'no custom_id the run was not given');

  const slackPosts = t.slack.messages.filter((message) => message.body.text?.includes(runId) === true).length;
  if (options.slackMayBeLost === true) assert.ok(slackPosts <= 1, `at most one Slack post, saw ${slackPosts}`);
  else assert.equal(slackPosts, 1, 'exactly one Slack post');

  const { live, failed } = await settledJobs(t, runId, options.settleMs ?? 5_000);
  assert.deepEqual(live, [], 'no job of the run left to run');
  const unexpected = failed.filter((job) => options.allowFailed?.(job) !== true);
  assert.deepEqual(unexpected, [], 'no failed job of the run the scenario did not expect');

  return {
    batches: batches.length,
    maxGeneration: Math.max(0, ...batches.map((batch) => Number(batch.metadata?.['batchline_generation'] ?? 0))),
    slackPosts,
    allowedFailedJobs: failed.map((job) => job.id),
  };
}

/** The run's jobs still live after up to `settleMs`, and its failed ones. */
async function settledJobs(t: TestService, runId: string, settleMs: number): Promise<{ live: string[]; failed: Array<{ id: string; failedReason: string }> }> {
  const { queues } = t.service.deps;
  const deadline = Date.now() + settleMs;
  let live: string[] = [];
  for (;;) {
    live = [];
    for (const name of QUEUE_NAMES) {
      for (const job of await queues[name].getJobs(LIVE_JOB_STATES, 0, -1)) {
        if (job?.id?.includes(runId) === true) live.push(`${name}:${job.id}`);
      }
    }
    if (live.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const failed: Array<{ id: string; failedReason: string }> = [];
  for (const name of QUEUE_NAMES) {
    for (const job of await queues[name].getJobs(['failed'], 0, -1)) {
      if (job?.id?.includes(runId) === true) failed.push({ id: job.id, failedReason: job.failedReason });
    }
  }
  return { live, failed };
}
