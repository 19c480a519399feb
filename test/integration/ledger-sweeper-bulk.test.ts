import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { createLogger } from '../../src/lib/logger.js';
import { jobIds } from '../../src/queues/job-ids.js';
import { enqueue } from '../../src/queues/stage-queues.js';
import { surelyLiveJobIds } from '../../src/queues/surely-live-jobs.js';
import { sweepLedger } from '../../src/runs/ledger-sweeper.js';
import { newRunId } from '../../src/runs/new-run-id.js';
import { newShardRecord, type RunRecord } from '../../src/runs/run-record.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const HOUR = 3600_000;
const SHARDS = 40;

const runRecord = (phase: RunRecord['phase']): RunRecord => {
  const now = new Date().toISOString();
  return {
    id: newRunId(), pipeline_id: null, phase, created_at: now, updated_at: now, finished_at: null, input_kind: 'requests',
    endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', template: null, items: SHARDS, rejected: 0, shard_count: SHARDS,
    cancel_requested: false, error: null, results_url: null, errors_url: null, source: null, slack_webhook_url: null, metadata: null, output_url: null,
  };
};

/**
 * The sweeper's pass over many waiting shards, with no worker on the queues:
 * every job's state is set by hand (a BullMQ worker taking, failing and
 * completing jobs one at a time), so what the pass finds is known exactly.
 * Delayed jobs are settled in bulk; waiting and active ones after a closer
 * look; missing, failed and completed ones are re-driven.
 */
describe('the ledger sweeper over many waiting shards', () => {
  let redis: TestRedis;
  let deps: Deps;
  let workDir: string;
  let taker: Worker;
  const prefix = 'bulk-sweep';

  before(async () => {
    redis = await startRedis();
    workDir = await mkdtemp(join(tmpdir(), 'batchline-bulk-sweep-'));
    const env = { REDIS_URL: redis.url, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: 'sk-test', STORAGE_URL: `file://${workDir}/data`, BATCHLINE_PREFIX: prefix, BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1' };
    deps = await createDeps(loadConfig(env), createLogger('silent', { pretty: false }), { workDir: join(workDir, 'work') });
    // Takes jobs only when asked (getNextJob): no processor runs.
    taker = new Worker('poll', null, { connection: { url: redis.url }, prefix, autorun: false });
  });
  after(async () => {
    await taker.close();
    await deps.close();
    await redis.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('re-drives exactly the missing, failed and completed jobs among many delayed ones', async () => {
    const runs = [runRecord('sharded'), runRecord('sharded'), runRecord('sharded')];
    type Poll = { runId: string; shard: number; generation: number; batchId: string; checks: number };
    const polls: Poll[] = [];
    for (const run of runs) {
      await deps.ledger.createRun(run);
      for (let shard = 0; shard < SHARDS; shard++) {
        const batchId = `batch_${run.id.slice(-8)}${shard}`;
        await deps.ledger.addShard(run.id, newShardRecord({ shard, model: 'gpt-4o-mini', requests: 10, bytes: 1_000, estimated_tokens: 100 }));
        await deps.ledger.updateShard(run.id, shard, { step: ['planned'], generation: [0] }, { step: 'created', input_file_id: 'file-x', batch_id: batchId, batch_status: 'in_progress' });
        polls.push({ runId: run.id, shard, generation: 0, batchId, checks: 3 });
      }
    }
    const [missing, failed, completed, active, waiting, ...delayed] = polls as [Poll, Poll, Poll, Poll, Poll, ...Poll[]];
    for (const poll of delayed) await enqueue(deps.queues, 'poll', poll, { jobId: jobIds.poll(poll), delay: 2 * HOUR });
    // Each of these is added, then taken by hand and moved to its state, in turn (the taker gets the oldest waiting job).
    const token = 'bulk-sweep-test';
    const take = async (poll: Poll): Promise<NonNullable<Awaited<ReturnType<Worker['getNextJob']>>>> => {
      await enqueue(deps.queues, 'poll', poll, { jobId: jobIds.poll(poll), attempts: 1 });
      const job = await taker.getNextJob(token);
      assert.equal(job?.id, jobIds.poll(poll));
      return job;
    };
    await (await take(failed)).moveToFailed(new Error('failed on purpose'), token);
    await (await take(completed)).moveToCompleted('done', token);
    await take(active);
    await enqueue(deps.queues, 'poll', waiting, { jobId: jobIds.poll(waiting) });
    // A run not sharded yet whose build job is gone.
    const queued = runRecord('queued');
    await deps.ledger.createRun(queued);

    assert.equal(await (await deps.queues.poll.getJob(jobIds.poll(failed)))?.getState(), 'failed');
    assert.equal(await (await deps.queues.poll.getJob(jobIds.poll(completed)))?.getState(), 'completed');
    assert.equal(await (await deps.queues.poll.getJob(jobIds.poll(active)))?.getState(), 'active');
    const live = await surelyLiveJobIds(deps.redis, deps.queues.poll, polls.map((poll) => jobIds.poll(poll)));
    assert.deepEqual([...live].sort(), delayed.map((poll) => jobIds.poll(poll)).sort(), 'only the delayed jobs are settled in bulk');

    const outcome = await sweepLedger(deps, 10_000);
    assert.equal(outcome.swept, true);
    assert.equal(outcome.runs, 4);
    const redriven = outcome.redriven.map(({ queue, jobId, reason }) => ({ queue, jobId, reason })).sort((a, b) => a.jobId.localeCompare(b.jobId));
    const expected = [
      { queue: 'poll', jobId: jobIds.poll(missing), reason: 'missing' },
      { queue: 'poll', jobId: jobIds.poll(failed), reason: 'failed' },
      { queue: 'poll', jobId: jobIds.poll(completed), reason: 'completed' },
      { queue: 'build', jobId: jobIds.build({ runId: queued.id }), reason: 'missing' },
    ].sort((a, b) => a.jobId.localeCompare(b.jobId));
    assert.deepEqual(redriven, expected);
    for (const poll of [missing, failed, completed]) {
      const job = await deps.queues.poll.getJob(jobIds.poll(poll));
      assert.equal(await job?.getState(), 'waiting', 'the re-driven job waits for a worker');
      assert.deepEqual(job?.data, { ...poll, checks: 0 });
    }

    // Nothing is left to do: a second pass re-drives nothing.
    assert.deepEqual((await sweepLedger(deps, 10_000)).redriven, []);
  });

  it('leaves a run that ended, or whose record is gone, out of the next pass', async () => {
    const ended = runRecord('sharded');
    await deps.ledger.createRun(ended);
    await deps.ledger.updateRun(ended.id, { phase: 'succeeded' });
    const gone = runRecord('sharded');
    await deps.ledger.createRun(gone);
    await deps.redis.del(`${prefix}:ledger:run:${gone.id}`);
    // As after a crash between the final write and leaving the index.
    await deps.redis.sadd(`${prefix}:ledger:active`, ended.id);

    await sweepLedger(deps, 10_000);
    const active = await deps.ledger.activeRunIds();
    assert.ok(!active.includes(ended.id));
    assert.ok(!active.includes(gone.id));
  });
});
