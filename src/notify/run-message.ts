import type { RunRecord, RunStatus } from '../runs/run-record.js';
import type { RunSummary } from '../runs/run-summary.js';
import type { SlackMessage } from './slack-notifier.js';

const STATUS_EMOJI: Partial<Record<RunStatus, string>> = {
  succeeded: ':white_check_mark:',
  partial: ':warning:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

const formatDuration = (ms: number): string => {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
};

/** The one Slack message of a finished run: outcome counts, failures by code, duration, where the results are. */
export function runMessage(run: RunRecord, status: RunStatus, summary: RunSummary, finishedAt: Date): SlackMessage {
  const name = run.pipeline_id === null ? `Run ${run.id}` : `Pipeline *${run.pipeline_id}*, run ${run.id}`;
  const lines = [
    `${STATUS_EMOJI[status] ?? ''} ${name} ${status}: ${summary.succeeded} of ${summary.total} ${run.input_kind === 'items' ? 'items' : 'requests'} succeeded, ${summary.failed} failed (${formatDuration(finishedAt.getTime() - Date.parse(run.created_at))}).`,
  ];
  if (run.template?.type === 'image-moderation') {
    lines.push(`Flagged: ${summary.flagged} image${summary.flagged === 1 ? '' : 's'}.`);
    for (const example of summary.flaggedExamples) lines.push(`• ${example.item}: ${truncate(example.reason, 160)}`);
    if (summary.flagged > summary.flaggedExamples.length) lines.push(`…and ${summary.flagged - summary.flaggedExamples.length} more.`);
  }
  if (summary.failuresByCode.size > 0) {
    const byCode = [...summary.failuresByCode.entries()].sort((a, b) => b[1] - a[1]).map(([code, count]) => `${code}: ${count}`);
    lines.push(`Failures by code: ${byCode.join(', ')}.`);
  }
  if (run.results_url !== null) lines.push(`Results: ${run.results_url}`);
  if (run.errors_url !== null && summary.failed > 0) lines.push(`Errors: ${run.errors_url}`);
  return { text: lines.join('\n') };
}

const truncate = (text: string, length: number): string => (text.length <= length ? text : `${text.slice(0, length - 1)}…`);
