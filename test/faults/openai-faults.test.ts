import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { estimateInputTokens, readPrompt } from '../../src/emulator/request-content.js';
import type { RunStatus } from '../../src/runs/run-record.js';
import type { RunView } from '../../src/runs/run-view.js';
import { assertFaultOracles, type OracleFindings } from '../helpers/fault-oracles.js';
import { reportRecovery } from '../helpers/recovery-report.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

/** Two shards per run (50 + 10 requests): faults that hit "the next create" hit one shard of two. */
const SHARD_SIZE = 50;
const REQUESTS = 60;

interface Request {
  custom_id: string;
  method: 'POST';
  url: '/v1/chat/completions';
  body: { model: string; messages: Array<{ role: 'user'; content: string }> };
}

const requestsOf = (tag: string, count = REQUESTS, model = 'gpt-4o-mini'): Request[] =>
  Array.from({ length: count }, (_, index) => ({
    custom_id: `${tag}-${index}`,
    method: 'POST',
    url: '/v1/chat/completions',
    // A fixed length, so a shard's enqueued tokens are known in advance.
    body: { model, messages: [{ role: 'user', content: `Fault question ${tag} ${String(index).padStart(4, '0')}. `.padEnd(200, 'x') }] },
  }));

/**
 * OpenAI misbehaving, through the emulator: every way a create can fail or
 * lose its answer, batches that expire, requests that fail, validation that
 * rejects lines, and the enqueued-token limit. The service runs in this
 * process (no kills here); each scenario ends in the status the product
 * promises, with the fault oracles holding.
 */
describe('OpenAI faults', () => {
  let t: TestService;
  let baselineMs = 0;

  before(async () => {
    t = await startTestService({
      emulator: { validatingMs: 50, inProgressMs: 300, finalizingMs: 50 },
      // Enough sends per request that 10 % transient failures cannot plausibly use them all up:
      // the scenario is about retries happening, not about the cap.
      tuning: { shardMaxRequests: SHARD_SIZE, maxAttemptsPerRequest: 6 },
    });
  });
  after(async () => {
    await t.close();
  });

  /** Posts a run, waits for its end, checks the status and the oracles; returns what it found and how long it took. */
  const runThrough = async (
    tag: string,
    expected: RunStatus,
    options: { requests?: Request[]; metadata?: Record<string, string>; afterPost?: (run: RunView) => Promise<void> } = {},
  ): Promise<{ run: RunView; findings: OracleFindings; ms: number }> => {
    const requests = options.requests ?? requestsOf(tag);
    const started = Date.now();
    const posted = await t.request('POST', '/v1/runs', { endpoint: '/v1/chat/completions', requests, ...(options.metadata === undefined ? {} : { metadata: options.metadata }) });
    assert.equal(posted.status, 202, posted.text);
    await options.afterPost?.(posted.body as RunView);
    const run = await t.waitForRunEnd((posted.body as RunView).id, 90_000);
    const ms = Date.now() - started;
    assert.equal(run.status, expected, JSON.stringify({ status: run.status, counts: run.counts, error: run.error, batches: run.batches.map((batch) => [batch.shard, batch.generation, batch.status]) }));
    const findings = await assertFaultOracles(t, { runId: run.id, customIds: requests.map((request) => request.custom_id) });
    return { run, findings, ms };
  };

  /** Waits until the emulator holds this many batches of the run (a fault read at create can then be turned off). */
  const batchesCreated = async (runId: string, count: number): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (t.emulator.ledger.batches({ metadata: { batchline_run: runId } }).length < count) {
      assert.ok(Date.now() < deadline, `${count} batches of ${runId} created`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  const report = (kind: string, ms: number, detail: string): void =>
    reportRecovery(kind, ms, `post to end; ${((ms - baselineMs) / 1000).toFixed(2)} s over the no-fault baseline; ${detail}`);

  it('without a fault: the baseline', async () => {
    const { findings, ms } = await runThrough('base', 'succeeded');
    assert.equal(findings.batches, 2);
    baselineMs = ms;
    reportRecovery('OpenAI faults baseline (no fault, in-process service)', ms);
  });

  it('create succeeds but its response is lost: the batch is adopted, never created twice', async () => {
    t.emulator.faults.dropCreateResponse = 1;
    try {
      const { run, findings, ms } = await runThrough('dropped', 'succeeded');
      assert.equal(findings.batches, 2);
      assert.equal(t.emulator.ledger.batches({ metadata: { batchline_run: run.id } }).filter((batch) => batch.createResponseDropped).length, 1);
      report('create succeeded, response lost', ms, 'reconciled by listing batches on the retry');
    } finally {
      t.emulator.faults.dropCreateResponse = 0;
    }
  });

  for (const [kind, fault] of [
    ['500 on create', 'serverErrorNext'],
    ['429 on create', 'rateLimitNext'],
  ] as const) {
    it(`${kind}: retried after reconciling, one batch per shard`, async () => {
      t.emulator.faults.operations = ['createBatch'];
      t.emulator.faults[fault] = 1;
      try {
        const { findings, ms } = await runThrough(fault, 'succeeded');
        assert.equal(findings.batches, 2);
        assert.equal(t.emulator.faults[fault], 0, 'the fault fired');
        report(kind, ms, 'one retry of the submit job');
      } finally {
        t.emulator.faults[fault] = 0;
        t.emulator.faults.operations = null;
      }
    });
  }

  it('batches expiring at 60 %: what did not finish goes again as generation 1, and the run succeeds', async () => {
    t.emulator.faults.expireAtFraction = 0.6;
    try {
      const { findings, ms } = await runThrough('expiry', 'succeeded', {
        // Long enough to turn the fault off after the first generation's creates and before any resubmission.
        metadata: { emulator_in_progress_ms: '1000' },
        afterPost: async (run) => {
          await batchesCreated(run.id, 2);
          t.emulator.faults.expireAtFraction = null;
        },
      });
      assert.equal(findings.maxGeneration, 1);
      assert.equal(findings.batches, 4);
      report('expiry at 60 %', ms, 'the unfinished 40 % resubmitted as a second generation');
    } finally {
      t.emulator.faults.expireAtFraction = null;
    }
  });

  it('10 % of requests failing with transient errors (500, server_error): retried until the run succeeds', async () => {
    t.emulator.faults.requestErrorRate = 0.1;
    try {
      // Both error shapes, and a 500 for the response-shaped ones: every failure is one a retry can fix.
      const { findings, ms } = await runThrough('flaky', 'succeeded', { metadata: { emulator_error_shape: 'mixed', emulator_error_status: '500' } });
      assert.ok(findings.maxGeneration >= 1, 'failed requests went round again');
      report('per-request errors at 10 %', ms, `${findings.maxGeneration + 1} generations`);
    } finally {
      t.emulator.faults.requestErrorRate = 0;
    }
  });

  it('validation rejecting two lines: exactly those two requests fail, the rest succeed, the run is partial', async () => {
    // One shard of 10; lines 2 and 5 (requests 1 and 4) are rejected by their content, so the
    // resubmission of the other eight passes, as it would at OpenAI.
    const requests = requestsOf('invalid', 10);
    const { run, ms } = await runThrough('invalid', 'partial', { requests, metadata: { emulator_invalid_custom_ids: 'invalid-1,invalid-4' } });
    const response = await t.request('GET', `/v1/runs/${run.id}/results`);
    const lines = response.text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { custom_id: string; error: { code: string } | null });
    const rejected = lines.filter((line) => line.error !== null).map((line) => line.custom_id).sort();
    assert.deepEqual(rejected, ['invalid-1', 'invalid-4']);
    assert.equal(run.counts.succeeded, 8);
    report('validation failure on two lines', ms, 'the other lines resubmitted once');
  });

  it('token_limit_exceeded: the batch over the limit waits for room and is resubmitted, and the run succeeds', async () => {
    const model = 'fault-token-model';
    const requests = requestsOf('tokens', 2 * SHARD_SIZE, model);
    const tokensPerShard = requests.slice(0, SHARD_SIZE).reduce((sum, request) => sum + estimateInputTokens(readPrompt('/v1/chat/completions', request.body)), 0);
    // Room for one shard's batch at a time, not two.
    t.emulator.faults.tokenBudgetPerModel = { [model]: Math.floor(tokensPerShard * 1.5) };
    try {
      const { run, findings, ms } = await runThrough('tokens', 'succeeded', { requests, metadata: { emulator_in_progress_ms: '800' } });
      const batches = t.emulator.ledger.batches({ metadata: { batchline_run: run.id } });
      const overLimit = batches.filter((batch) => batch.errors?.data?.[0]?.code === 'token_limit_exceeded');
      assert.ok(overLimit.length >= 1, 'a batch went over the limit');
      assert.equal(batches.filter((batch) => batch.status === 'completed').length, 2);
      report('token_limit_exceeded', ms, `${overLimit.length} batch over the limit, waited and resubmitted; ${findings.batches} batches in all`);
    } finally {
      t.emulator.faults.tokenBudgetPerModel = {};
    }
  });
});
