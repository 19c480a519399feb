import type { Job } from 'bullmq';
import type { Deps } from '../deps.js';

/**
 * Runs a delayed job now, so it sees a cancel instead of sleeping through
 * it. One that started meanwhile cannot be promoted and needs not be: it
 * reads the cancel itself.
 */
export async function promoteIfDelayed(job: Job | undefined): Promise<void> {
  if (job !== undefined && (await job.isDelayed())) await job.promote().catch(() => undefined);
}

/**
 * For a stage that has just put a job of the run to sleep: a cancel that
 * came meanwhile looked for delayed jobs before this one was, so look at the
 * run once more after. Of the cancel (flag, then jobs) and the stage (job,
 * then flag), one always sees the other's write. The job is fetched only
 * once the flag is seen: a stage that must look it up pays that round trip
 * for a cancel alone, not for every sleep.
 */
export async function promoteIfCancelled(deps: Pick<Deps, 'ledger'>, runId: string, getJob: () => Promise<Job | undefined>): Promise<void> {
  if ((await deps.ledger.getRun(runId))?.cancel_requested === true) await promoteIfDelayed(await getJob());
}
