import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Deps } from '../deps.js';
import { readLines } from '../lib/jsonl.js';
import { LineFileWriter } from '../lib/line-file-writer.js';
import { runMessage } from '../notify/run-message.js';
import { isSuccess, type ResultLine } from '../runs/result-line.js';
import type { RunRecord, ShardRecord } from '../runs/run-record.js';
import { finalRunStatus } from '../runs/final-run-status.js';
import { copyResultsToOutput } from '../runs/copy-results-to-output.js';
import { RunSummary } from '../runs/run-summary.js';
import { storageKeys } from '../runs/storage-keys.js';
import { StorageNotFoundError } from '../storage/object-storage.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';
import { crashPoint } from '../lib/crash-point.js';

/**
 * Notify: once every shard's results are stored, writes the run's combined
 * results and errors, settles its final status, and posts one Slack message.
 * Slack is claimed in the ledger before posting: a crash or timeout after the
 * claim loses a message rather than sending two.
 */
export function createNotifyProcessor(deps: Deps): StageProcessor<'notify'> {
  return async (job) => {
    const { runId } = parsePayload('notify', job.data);
    const run = await deps.ledger.getRun(runId);
    if (run === null || run.shard_count === null) return;
    const shards = await deps.ledger.getShards(runId);
    if (shards.length < run.shard_count || shards.some((shard) => shard.step !== 'stored')) return;
    const log = deps.logger.child({ run_id: runId });

    // Re-assembling is safe: the same shard files give the same bytes.
    const summary = await assembleRunResults(deps, run, shards);
    const status = finalRunStatus(run, shards, summary);
    const finishedAt = new Date();
    const patch: Partial<RunRecord> = {
      phase: status as RunRecord['phase'],
      finished_at: finishedAt.toISOString(),
      results_url: deps.storage.urlOf(storageKeys.runResults(runId)),
      errors_url: deps.storage.urlOf(storageKeys.runErrors(runId)),
      error: status === 'failed' ? describeFailure(summary) : null,
    };
    await deps.ledger.updateRun(runId, patch, { phase: ['sharded'] });
    const settled = (await deps.ledger.getRun(runId)) ?? run;
    // The pipeline's output copy (output.url) goes before Slack: a failed copy retries with this job,
    // and only on its last attempt is it given up, so the run is still announced.
    const copied = await copyResultsToOutput(deps, settled).catch((error: unknown) => {
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw error;
      log.error({ err: String(error), output_url: settled.output_url }, 'could not copy the results to the pipeline output; giving up on the copy');
      return null;
    });
    if (copied !== null) log.info({ output: copied }, 'results copied to the pipeline output');
    if (!(await deps.ledger.claimNotification(runId, job.id ?? 'notify'))) return;
    crashPoint('notify:after-slack-claim', deps.config);
    const delivery = await deps.slack.post(runMessage(settled, status, summary, finishedAt), settled.slack_webhook_url);
    if (delivery.delivered) log.info({ status }, 'run finished and announced');
    else {
      log.error({ reason: delivery.reason }, 'Slack post failed after the claim; not retried, so the run is never announced twice');
      await deps.metrics.slackFailed();
    }
  };
}

function describeFailure(summary: RunSummary): string {
  if (summary.total === 0) return 'the run had no requests to send';
  const first = summary.firstFailure;
  return first === null ? 'no request succeeded' : `no request succeeded; first failure ${first.code}: ${first.message}`;
}

/** Streams the rejected items and every shard's results into the run's results and errors files. */
async function assembleRunResults(deps: Deps, run: RunRecord, shards: ShardRecord[]): Promise<RunSummary> {
  const summary = new RunSummary();
  const results = new LineFileWriter(path.join(deps.workDir, `${run.id}-results.ndjson`));
  const errors = new LineFileWriter(path.join(deps.workDir, `${run.id}-errors.ndjson`));
  try {
    const sources = [storageKeys.rejected(run.id), ...shards.flatMap((shard) => Array.from({ length: shard.generation + 1 }, (_, generation) => storageKeys.shardResults(run.id, shard.shard, generation)))];
    for (const key of sources) {
      let stream;
      try {
        stream = await deps.storage.get(key);
      } catch (error) {
        if (error instanceof StorageNotFoundError) continue;
        throw error;
      }
      for await (const raw of readLines(stream)) {
        const line = JSON.parse(raw) as ResultLine;
        summary.add(line);
        await results.write(raw);
        if (!isSuccess(line)) await errors.write(raw);
      }
    }
    await results.close();
    await errors.close();
    await deps.storage.put(storageKeys.runResults(run.id), createReadStream(results.path));
    await deps.storage.put(storageKeys.runErrors(run.id), createReadStream(errors.path));
    return summary;
  } finally {
    await results.close();
    await errors.close();
    await rm(results.path, { force: true });
    await rm(errors.path, { force: true });
  }
}
