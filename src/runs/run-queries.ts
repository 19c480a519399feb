import type { Deps } from '../deps.js';
import { badRequest, notFound } from '../lib/api-error.js';
import type { RunStatus } from './run-record.js';
import { toRunView, type RunView } from './run-view.js';

export async function getRunView(deps: Deps, runId: string): Promise<RunView> {
  const run = await deps.ledger.getRun(runId);
  if (run === null) throw notFound('run', runId);
  return toRunView(run, await deps.ledger.getShards(runId));
}

/**
 * Runs newest first. Status is derived from shards, so a status filter reads
 * pages of runs until the page is full (bounded, so a rare status cannot make
 * one request scan the whole history).
 */
export async function listRunViews(
  deps: Deps,
  query: { pipelineId?: string; status?: RunStatus; limit: number; before?: string },
): Promise<{ data: RunView[]; has_more: boolean; next_before: string | null }> {
  // A cursor names a run of this list (next_before of an earlier page): any other id is a caller's mistake,
  // which an empty page would hide.
  if (query.before !== undefined && !(await deps.ledger.isListed(query.before, query.pipelineId))) {
    const list = query.pipelineId === undefined ? 'the runs listed' : `the runs listed for pipeline ${query.pipelineId}`;
    throw badRequest('invalid_request', `before: run ${query.before} is not among ${list}; pass next_before of an earlier page`);
  }
  const views: RunView[] = [];
  let before = query.before;
  for (let page = 0; page < 20 && views.length <= query.limit; page += 1) {
    const ids = await deps.ledger.listRunIds({ pipelineId: query.pipelineId, before, count: query.limit + 1 });
    if (ids.length === 0) break;
    for (const id of ids) {
      const run = await deps.ledger.getRun(id);
      if (run === null) continue;
      const view = toRunView(run, await deps.ledger.getShards(id));
      if (query.status === undefined || view.status === query.status) views.push(view);
      if (views.length > query.limit) break;
    }
    before = ids[ids.length - 1];
    if (ids.length < query.limit + 1) break;
  }
  const hasMore = views.length > query.limit;
  const data = views.slice(0, query.limit);
  return { data, has_more: hasMore, next_before: hasMore ? (data[data.length - 1]?.id ?? null) : null };
}
