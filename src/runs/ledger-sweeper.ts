import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps.js';
import { errorMessage } from '../lib/permanent-error.js';
import { jobIds } from '../queues/job-ids.js';
import type { JobPayloadInput } from '../queues/job-payloads.js';
import type { QueueName } from '../queues/queue-names.js';
import { enqueue } from '../queues/stage-queues.js';
import { surelyLiveJobIds } from '../queues/surely-live-jobs.js';
import { FINAL_RUN_STATUSES, type RunPhase, type RunStatus } from './run-record.js';
import type { RunSweepView, ShardStepView } from './run-ledger.js';

/** Why a step needed driving: its job was gone, had failed for good, or had completed without moving the ledger on. */
export type RedriveReason = 'missing' | 'failed' | 'completed';

export interface Redrive {
  runId: string;
  queue: QueueName;
  jobId: string;
  reason: RedriveReason;
}

export interface SweepOutcome {
  /** False when another worker's sweep held the lock, and this one did nothing. */
  swept: boolean;
  runs: number;
  redriven: Redrive[];
}

export interface LedgerSweeper {
  /** One pass now, outside the timer (tests, and a pass at shutdown is never needed). */
  sweepNow(): Promise<SweepOutcome>;
  /** Stops the timer and waits for a pass under way. */
  stop(): Promise<void>;
}

/** A job in one of these states runs (again) by itself: adding it is BullMQ's no-op, and nothing needs doing. */
const LIVE_STATES: ReadonlySet<string> = new Set(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * A job that keeps failing for good while its step stays put (an input gone
 * from storage, a file expired at OpenAI) would otherwise be re-driven every
 * sweep forever; after this many re-drives it is left failed for a person.
 */
export const MAX_REDRIVES_PER_JOB = 20;
const REDRIVE_COUNT_TTL_S = 30 * 24 * 3600;

/** Deletes the lock only while it still holds our token (never another sweeper's). */
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

const isFinal = (phase: RunPhase): boolean => FINAL_RUN_STATUSES.includes(phase as RunStatus);

/**
 * The ledger is the truth and the queue only delivers: a job can be lost
 * (Redis' last second before a crash) or end failed (attempts used up, or
 * stalled too often by dying workers) while its step still waits. The
 * sweeper walks the runs that are not final and, for each step the ledger
 * says is next, makes sure a live job with its deterministic id exists —
 * adding it when missing, replacing it when it failed or completed without
 * moving the ledger on. Every stage re-runs safely from the ledger, so a
 * re-drive that races the real job costs a redundant run, never a second
 * batch or a second Slack post. Runs on every worker process at start and
 * every `intervalMs`; a Redis lock lets one pass run at a time.
 *
 * The bound: a job lost or failed for good is re-driven by the next pass
 * that reaches it, at most `intervalMs` plus two passes after it happened
 * (the next pass starts `intervalMs` after one ends; a pass over 10,000
 * waiting batches takes well under a second). When the worker holding the
 * lock died mid-pass, the lock lapses after `lockMs` (twice the interval):
 * at most three intervals plus two passes.
 */
export function startLedgerSweeper(deps: Deps, intervalMs: number = deps.config.BATCHLINE_SWEEP_INTERVAL_MS): LedgerSweeper {
  // The lock outlives a pass by far; a sweeper that died holding it delays the next pass by at most this.
  const lockMs = Math.max(2 * intervalMs, 2_000);
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<SweepOutcome> | null = null;
  let stopped = false;

  const pass = async (): Promise<SweepOutcome> => {
    try {
      const outcome = await sweepLedger(deps, lockMs);
      if (outcome.swept) deps.logger.debug({ runs: outcome.runs, redriven: outcome.redriven.length }, 'ledger swept');
      return outcome;
    } catch (error) {
      // Redis away, most likely: the next pass tries again.
      deps.logger.warn({ err: errorMessage(error) }, 'ledger sweep failed; trying again at the next interval');
      return { swept: false, runs: 0, redriven: [] };
    }
  };
  const schedule = (delayMs: number): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass();
      void running.finally(() => {
        running = null;
        schedule(intervalMs);
      });
    }, delayMs);
    // The workers keep the process alive; a pending sweep must not.
    timer.unref();
  };
  schedule(0);

  return {
    sweepNow: pass,
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await running;
    },
  };
}

/**
 * Runs read per round trip. The pass reads runs and their shards' steps in
 * groups and checks the jobs of a whole group in a few script calls: a
 * round trip (and a socket write) per shard and per job was what waiting
 * batches cost the worker, one pass a minute over every shard in flight.
 */
const RUNS_PER_READ = 50;

/**
 * A step the ledger says is next, and the id of the job that should be
 * carrying it. Kept this small because a pass holds one per shard in flight;
 * the payload and the re-check are made only for a job that is not live.
 */
type ExpectedJob = { runId: string; jobId: string } & (
  | { queue: 'build' | 'notify' }
  | { queue: 'submit' | 'results'; shard: ShardStepView }
  | { queue: 'poll'; shard: ShardStepView; batchId: string }
);

/** One pass over the active runs, under the sweeper lock. */
export async function sweepLedger(deps: Deps, lockMs: number): Promise<SweepOutcome> {
  const lockKey = `${deps.config.BATCHLINE_PREFIX}:ledger:sweeper-lock`;
  const token = randomBytes(12).toString('hex');
  if ((await deps.redis.set(lockKey, token, 'PX', lockMs, 'NX')) !== 'OK') return { swept: false, runs: 0, redriven: [] };
  try {
    const runIds = await deps.ledger.activeRunIds();
    const redriven: Redrive[] = [];
    for (let first = 0; first < runIds.length; first += RUNS_PER_READ) {
      const expected: ExpectedJob[] = [];
      for (const view of await readSweepViews(deps, runIds.slice(first, first + RUNS_PER_READ))) {
        try {
          expected.push(...(await expectedJobs(deps, view)));
        } catch (error) {
          deps.logger.warn({ run_id: view.runId, err: errorMessage(error) }, 'could not sweep a run');
        }
      }
      redriven.push(...(await driveExpected(deps, expected)));
    }
    return { swept: true, runs: runIds.length, redriven };
  } finally {
    await deps.redis.eval(RELEASE, 1, lockKey, token).catch(() => undefined);
  }
}

/** Reads a group of runs at once; when that fails, each run alone, so one run's trouble (a record that no longer parses…) does not keep the others waiting. */
async function readSweepViews(deps: Deps, runIds: readonly string[]): Promise<RunSweepView[]> {
  try {
    return await deps.ledger.getSweepViews(runIds);
  } catch (error) {
    if (runIds.length === 1) {
      deps.logger.warn({ run_id: runIds[0], err: errorMessage(error) }, 'could not sweep a run');
      return [];
    }
    const views: RunSweepView[] = [];
    for (const runId of runIds) views.push(...(await readSweepViews(deps, [runId])));
    return views;
  }
}

/**
 * Checks the expected jobs queue by queue: those certainly live (most of
 * them: delayed poll jobs) in one script call per 500, the rest one by one
 * as before (getJob + getState), re-driving those that are not.
 */
async function driveExpected(deps: Deps, expected: readonly ExpectedJob[]): Promise<Redrive[]> {
  const redriven: Redrive[] = [];
  for (const queue of new Set(expected.map((job) => job.queue))) {
    const ofQueue = expected.filter((job) => job.queue === queue);
    const live = await surelyLiveJobIds(deps.redis, deps.queues[queue], ofQueue.map((job) => job.jobId));
    for (const job of ofQueue) {
      if (live.has(job.jobId)) continue;
      try {
        const reason = await ensureExpected(deps, job);
        if (reason !== null) redriven.push({ runId: job.runId, queue, jobId: job.jobId, reason });
      } catch (error) {
        deps.logger.warn({ run_id: job.runId, queue, job_id: job.jobId, err: errorMessage(error) }, 'could not sweep a run');
      }
    }
  }
  return redriven;
}

/** The jobs one run is waiting on, by the ledger; a final (or vanished) run leaves the active index instead. */
async function expectedJobs(deps: Deps, run: RunSweepView): Promise<ExpectedJob[]> {
  const { runId } = run;
  if (run.phase === null || isFinal(run.phase)) {
    await deps.ledger.markRunInactive(runId);
    return [];
  }
  if (run.phase === 'queued' || run.phase === 'building') return [{ queue: 'build', runId, jobId: jobIds.build({ runId }) }];
  // 'collecting': the collection job owns the run until it hands it to the build.
  if (run.phase !== 'sharded') return [];

  const expected: ExpectedJob[] = [];
  for (const shard of run.shards) {
    const ref = { runId, shard: shard.shard, generation: shard.generation };
    switch (shard.step) {
      case 'planned':
      case 'uploaded':
      case 'creating':
        expected.push({ queue: 'submit', runId, jobId: jobIds.submit(ref), shard });
        break;
      case 'created':
        if (shard.batch_id === null) expected.push({ queue: 'submit', runId, jobId: jobIds.submit(ref), shard });
        // A batch at OpenAI always has a status check coming: no batch is ever left unwatched.
        else expected.push({ queue: 'poll', runId, jobId: jobIds.poll({ ...ref, batchId: shard.batch_id }), shard, batchId: shard.batch_id });
        break;
      case 'terminal':
        expected.push({ queue: 'results', runId, jobId: jobIds.results(ref), shard });
        break;
      case 'stored':
        break;
      default:
        assertNever(shard.step);
    }
  }
  if (run.shard_count !== null && run.shards.length >= run.shard_count && run.shards.every((shard) => shard.step === 'stored')) {
    expected.push({ queue: 'notify', runId, jobId: jobIds.notify({ runId }) });
  }
  return expected;
}

/** Re-drives one expected job that was not found live: its payload, and the test that its step is still next. */
function ensureExpected(deps: Deps, expected: ExpectedJob): Promise<RedriveReason | null> {
  const { runId, jobId } = expected;
  switch (expected.queue) {
    case 'build':
      return ensureJob(deps, runId, 'build', { runId }, jobId, async () => {
        const now = await deps.ledger.getRun(runId);
        return now?.phase === 'queued' || now?.phase === 'building';
      });
    case 'notify':
      return ensureJob(deps, runId, 'notify', { runId }, jobId, async () => {
        const now = await deps.ledger.getRun(runId);
        return now !== null && !isFinal(now.phase);
      });
    case 'submit':
    case 'results':
    case 'poll': {
      const { shard } = expected;
      const ref = { runId, shard: shard.shard, generation: shard.generation };
      // Still at this step of this generation (and batch): the ledger has not moved on since it was read.
      const unchanged = async (): Promise<boolean> => {
        const now = await deps.ledger.getShard(runId, shard.shard);
        return now !== null && now.generation === shard.generation && now.step === shard.step && now.batch_id === shard.batch_id;
      };
      if (expected.queue === 'poll') return ensureJob(deps, runId, 'poll', { ...ref, batchId: expected.batchId, checks: 0 }, jobId, unchanged);
      return ensureJob(deps, runId, expected.queue, ref, jobId, unchanged);
    }
    default:
      return assertNever(expected);
  }
}

/**
 * Makes sure a live job with this id exists. Null when one already does (or
 * the step moved on meanwhile, or the job used up its re-drives); otherwise
 * why it had to be added.
 */
async function ensureJob<Name extends QueueName>(
  deps: Deps,
  runId: string,
  name: Name,
  payload: JobPayloadInput<Name>,
  jobId: string,
  stillNeeded: () => Promise<boolean>,
): Promise<RedriveReason | null> {
  const job = await deps.queues[name].getJob(jobId);
  let reason: RedriveReason = 'missing';
  if (job !== undefined) {
    const state = await job.getState();
    if (LIVE_STATES.has(state)) return null;
    if (state === 'failed' || state === 'completed') reason = state;
  }
  // The real job may have just moved the ledger on (and completed): then there is nothing to drive.
  if (!(await stillNeeded())) return null;
  const log = deps.logger.child({ run_id: runId, queue: name, job_id: jobId });
  if (!(await withinRedriveBudget(deps, runId, jobId))) {
    log.error({ reason, max_redrives: MAX_REDRIVES_PER_JOB, failed_reason: job?.failedReason }, 'a ledger step keeps failing; no longer re-driving it (retry it from the board once the cause is fixed)');
    return null;
  }
  // A failed or completed job blocks its id: BullMQ's add would return it instead of adding a new one.
  if (job !== undefined && reason !== 'missing') await job.remove();
  await enqueue(deps.queues, name, payload, { jobId });
  log.warn({ reason, failed_reason: job?.failedReason }, 're-drove a ledger step that had no live job');
  return reason;
}

async function withinRedriveBudget(deps: Deps, runId: string, jobId: string): Promise<boolean> {
  const key = `${deps.config.BATCHLINE_PREFIX}:ledger:run:${runId}:redrives`;
  const [[, count]] = (await deps.redis.multi().hincrby(key, jobId, 1).expire(key, REDRIVE_COUNT_TTL_S).exec()) as [[Error | null, number], [Error | null, number]];
  return count <= MAX_REDRIVES_PER_JOB;
}

function assertNever(value: never): never {
  throw new Error(`the sweeper does not know ${JSON.stringify(value)}`);
}
