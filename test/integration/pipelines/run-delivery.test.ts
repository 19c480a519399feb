import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { TestS3Server } from '../../helpers/s3-server.js';
import { startS3TestService, type S3TestService } from '../../helpers/s3-test-service.js';
import type { TestService } from '../../helpers/test-service.js';
import { jobIds } from '../../../src/queues/job-ids.js';
import { outputKeys } from '../../../src/runs/copy-results-to-output.js';
import type { RunView } from '../../../src/runs/run-view.js';

const ITEMS = [
  { id: 'a1', text: 'Bees pollinate most crops. Yields fall without them.' },
  { id: 'a2', text: 'The library opened. It has a garden.' },
];

/**
 * The end of a run: the copy to the pipeline's output.url, the Slack
 * message and the final status, in that order, with a failed copy shown
 * rather than hidden.
 */
describe("a run's delivery: output copy, Slack, final status", () => {
  let s3: TestS3Server;
  let t: TestService;
  let service: S3TestService;

  const runOfPipeline = async (id: string, outputUrl: string): Promise<RunView> => {
    const defined = await t.request('PUT', `/v1/pipelines/${id}`, { template: { type: 'summarize' }, output: { url: outputUrl }, notify: { slack_webhook_url: t.slack.url } });
    assert.equal(defined.status, 201, defined.text);
    return t.postRun({ pipeline: id, items: ITEMS });
  };

  const notifyAttempts = async (runId: string): Promise<number> => (await t.service.deps.queues.notify.getJob(jobIds.notify({ runId })))?.attemptsMade ?? -1;

  before(async () => {
    service = await startS3TestService(['results']);
    ({ s3, t } = service);
  });
  after(async () => {
    await service?.close();
  });

  it("links the pipeline's copy in Slack and in the run, and is announced before it reads final", async () => {
    const posted = await runOfPipeline('copied', 's3://results/mod/');
    const run = await t.waitForRunEnd(posted.id);
    assert.equal(run.status, 'succeeded');
    // Final only after the post: the message is already there when the status is.
    const message = t.slack.messages.find((m) => m.body.text?.includes(run.id) === true)?.body.text ?? '';
    assert.notEqual(message, '', 'the Slack message was posted before the run read final');
    const keys = outputKeys(run);
    const copied = `s3://results/mod/${keys.results}`;
    assert.deepEqual(run.output, { url: 's3://results/mod/', results_url: copied, errors_url: `s3://results/mod/${keys.errors}`, error: null });
    assert.match(message, new RegExp(`^Results: ${copied.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    assert.ok(!message.includes('file://'), message);
    const object = await s3.client.send(new GetObjectCommand({ Bucket: 'results', Key: `mod/${keys.results}` }));
    assert.equal((await object.Body?.transformToString('utf8'))?.trim().split('\n').length, 2);
  });

  it('a copy to a missing bucket is given up at once and shown in the run and in Slack; the run still succeeded', async () => {
    const posted = await runOfPipeline('nobucket', 's3://nosuchbucket/x/');
    const run = await t.waitForRunEnd(posted.id);
    assert.equal(run.status, 'succeeded', 'the status stays about the requests');
    assert.equal(run.error, null);
    assert.equal(run.output?.url, 's3://nosuchbucket/x/');
    assert.equal(run.output?.results_url, null);
    assert.match(run.output?.error ?? '', /^NoSuchBucket \(HTTP 404\)/);
    assert.equal(await notifyAttempts(run.id), 1, 'a permanent failure is not retried');
    const message = t.slack.messages.find((m) => m.body.text?.includes(run.id) === true)?.body.text ?? '';
    assert.match(message, /^:warning: Pipeline \*nobucket\*/);
    assert.match(message, /^:warning: Copy to s3:\/\/nosuchbucket\/x\/ failed: NoSuchBucket/m);
    assert.match(message, /^Results: file:\/\/\//m);
  });

  it('reads notifying, with results not ready, while its Slack post waits out a 429', async () => {
    t.slack.failNext(429, { 'retry-after': '1' });
    const requestsBefore = t.slack.requests();
    const posted = await t.postRun({ template: { type: 'summarize' }, items: ITEMS });
    const ended = t.waitForRunEnd(posted.id);
    // The first post was refused: the notify job is now waiting the second retry-after asked.
    while (t.slack.requests() === requestsBefore) await new Promise((resolve) => setImmediate(resolve));
    const during = (await t.request('GET', `/v1/runs/${posted.id}`)).body as RunView;
    assert.equal(during.status, 'notifying');
    assert.equal(during.finished_at, null);
    const results = await t.request('GET', `/v1/runs/${posted.id}/results`);
    assert.equal(results.status, 409);
    assert.equal((results.body as { error: { code: string } }).error.code, 'results_not_ready');

    const run = await ended;
    assert.equal(run.status, 'succeeded');
    assert.equal(t.slack.messages.filter((m) => m.body.text?.includes(run.id) === true).length, 1, 'posted once, after the 429');
    assert.equal((await t.results(run.id)).length, 2);
  });
});
