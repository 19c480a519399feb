import type { OutputCopy, RunRecord, RunStatus } from '../runs/run-record.js';
import type { ItemExample, RunSummary } from '../runs/run-summary.js';
import type { SlackMessage } from './slack-notifier.js';

const STATUS_EMOJI: Partial<Record<RunStatus, string>> = {
  succeeded: ':white_check_mark:',
  partial: ':warning:',
  failed: ':x:',
  cancelled: ':no_entry_sign:',
};

/** Where the run's results can be read, and what became of the copy to the pipeline's output. */
export interface RunDelivery {
  results_url: string;
  errors_url: string;
  output_copy: OutputCopy | null;
}

const formatDuration = (ms: number): string => {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
};

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * The one Slack message of a finished run: outcome counts, flagged and
 * unclear images, failures by code, duration, where the results are. A run
 * that succeeded but left something for a person (images the model would
 * not judge, a copy that could not be written) is headed :warning:, never
 * with a check mark that reads as all clear.
 */
export function runMessage(run: RunRecord, status: RunStatus, summary: RunSummary, finishedAt: Date, delivery: RunDelivery): SlackMessage {
  const name = run.pipeline_id === null ? `Run ${run.id}` : `Pipeline *${run.pipeline_id}*, run ${run.id}`;
  const outputError = delivery.output_copy?.error ?? null;
  const needsAttention = summary.unclear > 0 || outputError !== null;
  const emoji = status === 'succeeded' && needsAttention ? ':warning:' : (STATUS_EMOJI[status] ?? '');
  const attention = summary.unclear > 0 ? `, ${summary.unclear} need${summary.unclear === 1 ? 's' : ''} review` : '';
  const lines = [
    `${emoji} ${name} ${status}${attention}: ${summary.succeeded} of ${summary.total} ${run.input_kind === 'items' ? 'items' : 'requests'} succeeded, ${summary.failed} failed (${formatDuration(finishedAt.getTime() - Date.parse(run.created_at))}).`,
  ];
  if (run.template?.type === 'image-moderation') {
    lines.push(`Flagged: ${plural(summary.flagged, 'image')}.`);
    lines.push(...examples(summary.flaggedExamples, summary.flagged));
    if (summary.unclear > 0) {
      lines.push(`Needs review: ${plural(summary.unclear, 'image')} the model answered neither yes nor no.`);
      lines.push(...examples(summary.unclearExamples, summary.unclear));
    }
  }
  if (summary.failuresByCode.size > 0) {
    const byCode = [...summary.failuresByCode.entries()].sort((a, b) => b[1] - a[1]).map(([code, count]) => `${code}: ${count}`);
    lines.push(`Failures by code: ${byCode.join(', ')}.`);
  }
  // The pipeline's own copy is where its people look; the internal copy when there is none (or it failed).
  const copied = delivery.output_copy?.error === null ? delivery.output_copy : null;
  lines.push(`Results: ${copied?.results_url ?? delivery.results_url}`);
  if (summary.failed > 0) lines.push(`Errors: ${copied?.errors_url ?? delivery.errors_url}`);
  if (outputError !== null) lines.push(`:warning: Copy to ${delivery.output_copy?.url ?? 'the output'} failed: ${truncate(outputError, 300)}`);
  return { text: lines.join('\n') };
}

function examples(shown: readonly ItemExample[], count: number): string[] {
  const lines = shown.map((example) => `• ${example.item}: ${example.reason === '' ? '(no answer text)' : truncate(example.reason, 160)}`);
  if (count > shown.length) lines.push(`…and ${count - shown.length} more.`);
  return lines;
}

const truncate = (text: string, length: number): string => (text.length <= length ? text : `${text.slice(0, length - 1)}…`);
