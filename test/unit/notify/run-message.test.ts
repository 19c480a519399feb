import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runMessage, type RunDelivery } from '../../../src/notify/run-message.js';
import type { ResultLine } from '../../../src/runs/result-line.js';
import type { RunRecord } from '../../../src/runs/run-record.js';
import { RunSummary } from '../../../src/runs/run-summary.js';
import { runRecordOf } from '../../helpers/run-record.js';

const moderationRun = (fields: Partial<RunRecord> = {}): RunRecord =>
  runRecordOf({ id: 'run_mod', pipeline_id: 'moderation', input_kind: 'items', template: { type: 'image-moderation' } as RunRecord['template'], ...fields });

const answered = (key: string, text: string, flagged: boolean | null): ResultLine => ({
  custom_id: key,
  item: { key },
  status_code: 200,
  output: { text, flagged },
  response: {},
  error: null,
});

const summaryOf = (lines: ResultLine[]): RunSummary => {
  const summary = new RunSummary();
  for (const line of lines) summary.add(line);
  return summary;
};

const internal: RunDelivery = { results_url: 'file:///data/runs/run_mod/results.ndjson', errors_url: 'file:///data/runs/run_mod/errors.ndjson', output_copy: null };
const finishedAt = new Date(Date.parse('2026-01-01T00:00:00.000Z') + 65_000);

describe('the Slack message of a finished run', () => {
  it('counts answers that are neither yes nor no as needing review, names them, and does not read as all clear', () => {
    const summary = summaryOf([
      answered('a.png', 'No. A cat.', false),
      answered('b.png', "I'm sorry, I can't help with that.", null),
      answered('c.png', 'Yes. Explicit.', true),
    ]);
    assert.equal(summary.succeeded, 3, 'the unclear answer is still an answered request');
    assert.equal(summary.unclear, 1);
    assert.equal(summary.flagged, 1);

    const { text } = runMessage(moderationRun(), 'succeeded', summary, finishedAt, internal);
    const [headline] = text.split('\n');
    assert.equal(headline, ':warning: Pipeline *moderation*, run run_mod succeeded, 1 needs review: 3 of 3 items succeeded, 0 failed (1m 5s).');
    assert.ok(!text.includes(':white_check_mark:'));
    assert.match(text, /^Flagged: 1 image\.\n• c\.png: Yes\. Explicit\.$/m);
    assert.match(text, /^Needs review: 1 image the model answered neither yes nor no\.\n• b\.png: I'm sorry, I can't help with that\.$/m);
  });

  it('names the first five unclear images and counts the rest', () => {
    const summary = summaryOf(Array.from({ length: 7 }, (_, index) => answered(`img-${index}.png`, '', null)));
    const { text } = runMessage(moderationRun(), 'succeeded', summary, finishedAt, internal);
    assert.match(text, /Needs review: 7 images/);
    assert.equal(text.split('\n').filter((line) => line.startsWith('• img-')).length, 5);
    assert.match(text, /• img-0\.png: \(no answer text\)/);
    assert.match(text, /…and 2 more\./);
  });

  it('keeps the check mark when every image got a yes or a no', () => {
    const { text } = runMessage(moderationRun(), 'succeeded', summaryOf([answered('a.png', 'No.', false)]), finishedAt, internal);
    assert.match(text, /^:white_check_mark: /);
    assert.ok(!text.includes('Needs review'));
    assert.ok(!text.includes('needs review'));
  });

  it("links the pipeline's output copy when it was made, the internal results otherwise", () => {
    const summary = summaryOf([answered('a.png', 'No.', false), { ...answered('b.png', '', false), status_code: 500, output: null, error: { code: 'server_error', message: 'x' } }]);
    const copied: RunDelivery = {
      ...internal,
      output_copy: { url: 's3://results/mod/', results_url: 's3://results/mod/moderation/run_mod/results.ndjson', errors_url: 's3://results/mod/moderation/run_mod/errors.ndjson', error: null },
    };
    const withCopy = runMessage(moderationRun(), 'partial', summary, finishedAt, copied).text;
    assert.match(withCopy, /^Results: s3:\/\/results\/mod\/moderation\/run_mod\/results\.ndjson$/m);
    assert.match(withCopy, /^Errors: s3:\/\/results\/mod\/moderation\/run_mod\/errors\.ndjson$/m);
    assert.ok(!withCopy.includes('file:///'));

    const without = runMessage(moderationRun(), 'partial', summary, finishedAt, internal).text;
    assert.match(without, /^Results: file:\/\/\/data\/runs\/run_mod\/results\.ndjson$/m);
  });

  it('says the copy to the output failed, links the internal results, and is not headed all clear', () => {
    const failed: RunDelivery = { ...internal, output_copy: { url: 's3://nosuchbucket/x/', results_url: null, errors_url: null, error: 'NoSuchBucket (HTTP 404): The specified bucket does not exist' } };
    const { text } = runMessage(moderationRun(), 'succeeded', summaryOf([answered('a.png', 'No.', false)]), finishedAt, failed);
    assert.match(text, /^:warning: Pipeline \*moderation\*, run run_mod succeeded: 1 of 1 items succeeded/);
    assert.match(text, /^Results: file:\/\/\/data\/runs\/run_mod\/results\.ndjson$/m);
    assert.match(text, /^:warning: Copy to s3:\/\/nosuchbucket\/x\/ failed: NoSuchBucket \(HTTP 404\): The specified bucket does not exist$/m);
  });
});
