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
 * The most runs one list request reads. A status filter reads runs until the
 * page is full, and a rare status could otherwise make one request walk the
 * whole history; beyond this the page ends short and the cursor goes on.
 */
export const MAX_RUNS_EXAMINED = 500;

/**
 * Runs newest first. Status is derived from shards, so a status filter reads
 * runs (in pages of limit + 1) until the page is full, the history ends, or
 * `maxExamined` runs were read. In the last case the page may hold fewer than
 * `limit` runs, even none, while has_more is true: next_before is then the
 * last run read, so the next page goes on where this one stopped. A page
 * claims the end (has_more false) only when the history really ended.
 */
export async function listRunViews(
  deps: Deps,
  query: { pipelineId?: string; status?: RunStatus; limit: number; before?: string },
  options: { maxExamined?: number } = {},
): Promise<{ data: RunView[]; has_more: boolean; next_before: string | null }> {
  // A cursor names a run of this list (next_before of an earlier page): any other id is a caller's mistake,
  // which an empty page would hide.
  if (query.before !== undefined && !(await deps.ledger.isListed(query.before, query.pipelineId))) {
    const list = query.pipelineId === undefined ? 'the runs listed' : `the runs listed for pipeline ${query.pipelineId}`;
    throw badRequest('invalid_request', `before: run ${query.before} is not among ${list}; pass next_before of an earlier page`);
  }
  // At least one full page, so an unfiltered list always fills its page.
  const maxExamined = Math.max(options.maxExamined ?? MAX_RUNS_EXAMINED, query.limit + 1);
  const views: RunView[] = [];
  let before = query.before;
  let examined = 0;
  let historyEnded = false;
  while (views.length <= query.limit) {
    const count = Math.min(query.limit + 1, maxExamined - examined);
    if (count <= 0) break;
    const ids = await deps.ledger.listRunIds({ pipelineId: query.pipelineId, before, count });
    for (const id of ids) {
      examined += 1;
      before = id;
      const run = await deps.ledger.getRun(id);
      if (run === null) continue;
      const view = toRunView(run, await deps.ledger.getShards(id));
      if (query.status === undefined || view.status === query.status) views.push(view);
      if (views.length > query.limit) break;
    }
    if (ids.length < count) {
      historyEnded = true;
      break;
    }
  }
  const data = views.slice(0, query.limit);
  // A run beyond the page was found: the next page starts after the page's last run.
  if (views.length > query.limit) return { data, has_more: true, next_before: data[data.length - 1]?.id ?? null };
  if (historyEnded) return { data, has_more: false, next_before: null };
  // The bound stopped the scan: not the end, whatever the page holds; go on from the last run read.
  return { data, has_more: true, next_before: before ?? null };
}
