import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { UnrecoverableError, type Job } from 'bullmq';
import { startTestService, type TestService } from '../helpers/test-service.js';
import type { RunView } from '../../src/runs/run-view.js';
import type { LedgerSweeper, SweepOutcome } from '../../src/runs/ledger-sweeper.js';
import { MAX_REDRIVES_PER_JOB, sweepLedger } from '../../src/runs/ledger-sweeper.js';
import { jobIds } from '../../src/queues/job-ids.js';
import type { ShardStep } from '../../src/runs/run-record.js';

const requests = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, index) => ({
    custom_id: `${prefix}${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `Sweeper question ${index}.` }] },
  }));

/**
 * The sweeper against a real Redis and the emulator: a step whose job is
 * gone or failed for good is driven again with the same job id, and a
 * healthy run is left alone.
 */
describe('the ledger sweeper', () => {
  let t: TestService;
  let sweeper: LedgerSweeper;
  /** While set, every results job fails for good (as one whose attempts ran out). */
  let failResults = false;

  before(async () => {
    t = await startTestService({
      workerOptions: {
        wrapProcessor: (name, processor) => async (job: Job, token?: string) => {
          if (name === 'results' && failResults) throw new UnrecoverableError('results failed on purpose');
          await processor(job, token);
        },
      },
    });
    if (t.service.sweeper === null) throw new Error('the service runs workers, so it runs a sweeper');
    sweeper = t.service.sweeper;
  });
  after(async () => {
    await t.close();
  });

  const post = (body: unknown): Promise<RunView> => t.postRun(body);

  /** Resolves once the run's first shard reaches the step (short ledger polling: the steps happen in other async work). */
  const shardReaches = async (runId: string, step: ShardStep): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while ((await t.service.deps.ledger.getShard(runId, 0))?.step !== step) {
      if (Date.now() > deadline) throw new Error(`shard 0 of ${runId} never reached ${step}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };

  const redrivesOf = (outcome: SweepOutcome, runId: string) => outcome.redriven.filter((redrive) => redrive.runId === runId).map(({ queue, reason }) => ({ queue, reason }));

  it('re-drives a poll job deleted from under a waiting batch, and the run still ends', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: requests(3, 'p'), metadata: { emulator_in_progress_ms: '600000' } });
    await shardReaches(run.id, 'created');
    const shard = await t.service.deps.ledger.getShard(run.id, 0);
    const pollId = jobIds.poll({ runId: run.id, shard: 0, generation: 0, batchId: shard?.batch_id ?? '' });
    // The poll job sits delayed between checks; catch it there (it is locked while a check runs).
    const deadline = Date.now() + 10_000;
    for (;;) {
      // The submit stage records the batch in the ledger, then adds its poll job: the job may not be there yet.
      const job = await t.service.deps.queues.poll.getJob(pollId);
      if (job !== undefined && (await job.getState()) === 'delayed' && (await job.remove().then(() => true, () => false))) break;
      assert.ok(Date.now() < deadline, job === undefined ? 'the submit stage never added the poll job' : 'the poll job was never caught between checks');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(await t.service.deps.queues.poll.getJob(pollId), undefined);

    const outcome = await sweeper.sweepNow();
    assert.equal(outcome.swept, true);
    assert.deepEqual(redrivesOf(outcome, run.id), [{ queue: 'poll', reason: 'missing' }]);
    assert.ok(await t.service.deps.queues.poll.getJob(pollId), 'the same job id is back');

    // The re-driven poll job is what carries the cancellation to the batch and the run to its end.
    assert.equal((await t.request('POST', `/v1/runs/${run.id}/cancel`)).status, 202);
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'cancelled');
    assert.equal(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }).length, 1);
  });

  it('re-drives a results job that failed for good, once the cause is gone', async () => {
    failResults = true;
    const run = await post({ endpoint: '/v1/chat/completions', requests: requests(4, 'f') });
    const resultsId = jobIds.results({ runId: run.id, shard: 0, generation: 0 });
    const deadline = Date.now() + 15_000;
    while ((await (await t.service.deps.queues.results.getJob(resultsId))?.getState()) !== 'failed') {
      assert.ok(Date.now() < deadline, 'the results job never failed');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal((await t.service.deps.ledger.getShard(run.id, 0))?.step, 'terminal');
    failResults = false;

    const outcome = await sweeper.sweepNow();
    assert.deepEqual(redrivesOf(outcome, run.id), [{ queue: 'results', reason: 'failed' }]);
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'succeeded');
    assert.equal(ended.counts.succeeded, 4);
    assert.equal(t.slack.messages.filter((message) => message.body.text?.includes(run.id)).length, 1);
  });

  it('leaves a job that keeps failing for a person once its re-drives are used up', async () => {
    failResults = true;
    const run = await post({ endpoint: '/v1/chat/completions', requests: requests(2, 'c') });
    const resultsId = jobIds.results({ runId: run.id, shard: 0, generation: 0 });
    const failed = async (): Promise<boolean> => (await (await t.service.deps.queues.results.getJob(resultsId))?.getState()) === 'failed';
    const deadline = Date.now() + 15_000;
    while (!(await failed())) {
      assert.ok(Date.now() < deadline, 'the results job never failed');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const counts = `${t.prefix}:ledger:run:${run.id}:redrives`;
    await t.service.deps.redis.hset(counts, resultsId, String(MAX_REDRIVES_PER_JOB));
    assert.deepEqual(redrivesOf(await sweeper.sweepNow(), run.id), []);
    assert.ok(await failed(), 'left failed, where the board shows it');

    // Someone fixed the cause and reset the count: the next sweep drives it again.
    failResults = false;
    await t.service.deps.redis.del(counts);
    assert.deepEqual(redrivesOf(await sweeper.sweepNow(), run.id), [{ queue: 'results', reason: 'failed' }]);
    assert.equal((await t.waitForRunEnd(run.id)).status, 'succeeded');
  });

  it('re-drives a notify job that completed while the run was not final', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: requests(2, 'n') });
    await t.waitForRunEnd(run.id);
    // As if the notify job's ledger write was lost: the job is completed, the run still sharded and active.
    const { deps } = t.service;
    await deps.ledger.updateRun(run.id, { phase: 'sharded', finished_at: null });
    await deps.redis.sadd(`${t.prefix}:ledger:active`, run.id);
    assert.equal(await (await deps.queues.notify.getJob(jobIds.notify({ runId: run.id })))?.getState(), 'completed');

    const outcome = await sweeper.sweepNow();
    assert.deepEqual(redrivesOf(outcome, run.id), [{ queue: 'notify', reason: 'completed' }]);
    const ended = await t.waitForRunEnd(run.id);
    assert.equal(ended.status, 'succeeded');
    // The claim from the first notification stands: no second Slack post.
    assert.equal(t.slack.messages.filter((message) => message.body.text?.includes(run.id)).length, 1);
    assert.ok(!(await deps.ledger.activeRunIds()).includes(run.id), 'a final run leaves the active index');
  });

  it('leaves a healthy run alone, and a second sweeper waits for the first', async () => {
    const run = await post({ endpoint: '/v1/chat/completions', requests: requests(2, 'h'), metadata: { emulator_in_progress_ms: '600000' } });
    await shardReaches(run.id, 'created');
    const [first, second] = await Promise.all([sweepLedger(t.service.deps, 5_000), sweepLedger(t.service.deps, 5_000)]);
    assert.deepEqual([first?.swept, second?.swept].sort(), [false, true]);
    const swept = first?.swept === true ? first : second;
    assert.ok((swept?.runs ?? 0) >= 1);
    assert.deepEqual(redrivesOf(swept ?? { swept: false, runs: 0, redriven: [] }, run.id), []);
    await t.request('POST', `/v1/runs/${run.id}/cancel`);
    assert.equal((await t.waitForRunEnd(run.id)).status, 'cancelled');
    assert.ok(!(await t.service.deps.ledger.activeRunIds()).includes(run.id));
  });
});
