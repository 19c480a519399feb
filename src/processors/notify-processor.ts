import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Deps } from '../deps.js';
import { readLines } from '../lib/jsonl.js';
import { LineFileWriter } from '../lib/line-file-writer.js';
import { runMessage } from '../notify/run-message.js';
import { isSuccess, type ResultLine } from '../runs/result-line.js';
import type { OutputCopy, RunRecord, ShardRecord } from '../runs/run-record.js';
import type { Logger } from '../lib/logger.js';
import { finalRunStatus } from '../runs/final-run-status.js';
import { runReadyToNotify } from '../runs/run-ready-to-notify.js';
import { isLastAttempt } from './attempts.js';
import { copyResultsToOutput, describeOutputFailure, isPermanentOutputFailure } from '../runs/copy-results-to-output.js';
import { RunSummary } from '../runs/run-summary.js';
import { storageKeys } from '../runs/storage-keys.js';
import { StorageNotFoundError } from '../storage/object-storage.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';
import { crashPoint } from '../lib/crash-point.js';

/**
 * Notify: once every shard's results are stored, writes the run's combined
 * results and errors, copies them to the pipeline's output.url, posts one
 * Slack message, and only then settles the run's final status: a run reads
 * `notifying` until all of that is done or given up, never final while its
 * notify job is still retrying.
 *
 * Every step is safe to run again. The files are rewritten with the same
 * bytes; Slack is claimed in the ledger before posting, so a crash or an
 * ambiguous failure after the claim loses the message rather than sending
 * two, and the retry that finds the claim taken still settles the run.
 */
export function createNotifyProcessor(deps: Deps): StageProcessor<'notify'> {
  return async (job) => {
    const { runId } = parsePayload('notify', job.data);
    const run = await deps.ledger.getRun(runId);
    // A run already settled (or cancelled before sharding) needs no shard read.
    if (run === null || run.phase !== 'sharded') return;
    const shards = await deps.ledger.getShards(runId);
    if (!runReadyToNotify(run, shards)) return;
    const log = deps.logger.child({ run_id: runId });

    // Re-assembling is safe: the same shard files give the same bytes.
    const summary = await assembleRunResults(deps, run, shards);
    const status = finalRunStatus(run, shards, summary);
    const outputCopy = await copyToOutput(deps, run, isLastAttempt(job), log);
    if (outputCopy !== null) await deps.ledger.updateRun(runId, { output_copy: outputCopy }, { phase: ['sharded'] });

    const finishedAt = new Date();
    const delivery = {
      results_url: deps.storage.urlOf(storageKeys.runResults(runId)),
      errors_url: deps.storage.urlOf(storageKeys.runErrors(runId)),
      output_copy: outputCopy,
    };
    if (await deps.ledger.claimNotification(runId, job.id ?? 'notify')) {
      crashPoint('notify:after-slack-claim', deps.config);
      const posted = await deps.slack.post(runMessage(run, status, summary, finishedAt, delivery), run.slack_webhook_url);
      if (posted.delivered) log.info({ status }, 'run announced');
      else {
        log.error({ reason: posted.reason }, 'Slack post failed after the claim; the run is not announced, so it is never announced twice');
        await deps.metrics.slackFailed();
      }
    } else log.info('the run was already announced (or its post given up); settling it');

    const patch: Partial<RunRecord> = {
      phase: status as RunRecord['phase'],
      finished_at: finishedAt.toISOString(),
      results_url: delivery.results_url,
      errors_url: delivery.errors_url,
      error: status === 'failed' ? describeFailure(summary) : null,
    };
    await deps.ledger.updateRun(runId, patch, { phase: ['sharded'] });
    log.info({ status }, 'run finished');
  };
}

/**
 * The copy to the pipeline's output.url, or null when it has none. A
 * failure that would fail again (a missing bucket, access denied) is
 * recorded at once; any other is retried with the job and recorded on its
 * last attempt. Either way the run goes on to be announced and settled,
 * with the failure in its view and its Slack message.
 */
async function copyToOutput(deps: Deps, run: RunRecord, lastAttempt: boolean, log: Logger): Promise<OutputCopy | null> {
  try {
    const copied = await copyResultsToOutput(deps, run);
    if (copied !== null) log.info({ output: [copied.results_url, copied.errors_url] }, 'results copied to the pipeline output');
    return copied;
  } catch (error) {
    const permanent = isPermanentOutputFailure(error);
    if (!permanent && !lastAttempt) throw error;
    const reason = describeOutputFailure(error);
    log.error({ err: reason, output_url: run.output_url, permanent }, 'could not copy the results to the pipeline output; giving up on the copy');
    return { url: run.output_url ?? '', results_url: null, errors_url: null, error: permanent ? reason : `${reason} (gave up after retrying)` };
  }
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
