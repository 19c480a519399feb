import { rm, stat } from 'node:fs/promises';
import { planBatch, type BatchPlan } from './batch-fault-plan.js';
import { buildTimeline, isTerminal, transitionsUntil, type BatchStatus, type Timeline, type TerminalStatus, type Transition } from './batch-timeline.js';
import type { EmulatorFaults, EmulatorOptions } from './emulator-options.js';
import { newBatchId } from './emulator-ids.js';
import { DEFAULT_BATCH_FILE_TTL_SECONDS, type FileStore } from './file-store.js';
import { scanInputFile, type BatchLineError, type ScanResult } from './input-scan.js';
import { invalidRequest, noSuchFile } from './openai-error.js';
import { writeResultFiles } from './result-files.js';
import { hash32, shuffledIndices } from './seeded-random.js';
import type { BatchWebhookType, WebhookSender } from './webhook-sender.js';

/**
 * The batches: creation, the lazily derived lifecycle, validation, the
 * enqueued-token limit, cancellation, and the result files made when a batch
 * turns terminal. Reads settle a batch first (wait for its validation once
 * its validating time is over, write its files once it is terminal), so what
 * a client is shown is always backed by readable files.
 */
export interface CreateBatchParams {
  inputFileId: string;
  endpoint: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  /** Seconds after creation that the output and error files expire (null: 30 days). */
  outputExpiresAfterSeconds: number | null;
}

export interface RequestCounts {
  total: number;
  completed: number;
  failed: number;
}

export interface BatchUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** OpenAI's Batch object; fields not reached yet are null, as the API sends them. */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  model: string | null;
  errors: { object: 'list'; data: BatchLineError[] } | null;
  input_file_id: string;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: RequestCounts;
  usage: BatchUsage;
  metadata: Record<string, string> | null;
}

interface FinalResult {
  status: TerminalStatus;
  outputFileId: string | null;
  errorFileId: string | null;
  counts: RequestCounts;
  usage: BatchUsage;
}

export interface BatchRecord {
  readonly id: string;
  /** 1-based creation order; seeds this batch's shuffle and fault choices. */
  readonly sequence: number;
  readonly params: CreateBatchParams;
  readonly createdMs: number;
  readonly plan: BatchPlan;
  /** The input's validation, once started (validationDue); null before. */
  scanPromise: Promise<void> | null;
  scan: ScanResult | null;
  validation: { doneMs: number; ok: boolean } | null;
  tokenLimitError: BatchLineError | null;
  cancelRequestedMs: number | null;
  /** Processing order of the requests (shuffled), and failures among the first k of it. */
  order: Uint32Array | null;
  failingPrefix: Uint32Array | null;
  finalizing: Promise<void> | null;
  final: FinalResult | null;
  createResponseDropped: boolean;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);
const COMPLETION_WINDOW_SECONDS = 24 * 3600;
const zeroUsage = (): BatchUsage => ({
  input_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 0,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 0,
});

const WEBHOOK_TYPES: Record<TerminalStatus, BatchWebhookType> = {
  completed: 'batch.completed',
  failed: 'batch.failed',
  expired: 'batch.expired',
  cancelled: 'batch.cancelled',
};

export class BatchEngine {
  private readonly batches = new Map<string, BatchRecord>();
  private sequence = 0;
  private readonly work = new Set<Promise<void>>();

  constructor(
    private readonly options: EmulatorOptions,
    private readonly faults: EmulatorFaults,
    private readonly files: FileStore,
    private readonly webhooks: WebhookSender | null,
    private readonly logError: (message: string, error: unknown) => void,
  ) {}

  /** Creates the batch (status validating); its input file is read when its validating time is over. */
  create(params: CreateBatchParams): BatchRecord {
    const file = this.files.get(params.inputFileId);
    if (file === undefined) throw noSuchFile(params.inputFileId, 'input_file_id');
    if (file.purpose !== 'batch') {
      throw invalidRequest(
        `The input file ${file.id} has purpose '${file.purpose}'; a batch needs a file uploaded with purpose 'batch'.`,
        'input_file_id',
        'invalid_value',
      );
    }
    const plan = planBatch(params.metadata, this.options, this.faults);
    const record: BatchRecord = {
      id: newBatchId(),
      sequence: ++this.sequence,
      params,
      createdMs: Date.now(),
      plan,
      scanPromise: null,
      scan: null,
      validation: null,
      tokenLimitError: null,
      cancelRequestedMs: null,
      order: null,
      failingPrefix: null,
      finalizing: null,
      final: null,
      createResponseDropped: false,
    };
    this.batches.set(record.id, record);
    this.files.pin(file.id);
    if (record.plan.timing.validatingMs === 0) void this.validated(record);
    return record;
  }

  get(id: string): BatchRecord | undefined {
    return this.batches.get(id);
  }

  /** Every batch ever created, oldest first. */
  records(): BatchRecord[] {
    return [...this.batches.values()];
  }

  /** The batch as a client sees it now (after settling it). */
  async view(record: BatchRecord): Promise<BatchObject> {
    await this.settle(record);
    return this.describe(record, Date.now());
  }

  async list(after: string | undefined, limit: number): Promise<{ data: BatchObject[]; hasMore: boolean }> {
    let newestFirst = this.records().reverse();
    if (after !== undefined) {
      const index = newestFirst.findIndex((record) => record.id === after);
      newestFirst = index === -1 ? [] : newestFirst.slice(index + 1);
    }
    const page = newestFirst.slice(0, limit);
    const data: BatchObject[] = [];
    for (const record of page) data.push(await this.view(record));
    return { data, hasMore: newestFirst.length > limit };
  }

  /** Asks for cancellation; the answer shows `cancelling`, as OpenAI's does. */
  async cancel(record: BatchRecord): Promise<BatchObject> {
    await this.settle(record);
    const now = Date.now();
    const status = this.statusAt(record, now);
    if (status === 'cancelling' || status === 'cancelled') return this.describe(record, now);
    // A 400, not a 409: the SDK retries 409s, and asking again cannot help.
    if (isTerminal(status)) throw invalidRequest(`Cannot cancel a batch with status '${status}'.`, null, 'batch_not_cancellable');
    record.cancelRequestedMs = now;
    return this.describe(record, now);
  }

  /** Validates and finishes every batch whose time is up, so webhooks go out without anyone polling. */
  sweep(): void {
    const now = Date.now();
    for (const record of this.batches.values()) {
      if (record.finalizing !== null) continue;
      if (record.validation === null) {
        if (this.validationDue(record, now)) void this.validated(record).catch(() => undefined);
        continue;
      }
      const terminal = this.timeline(record).terminal;
      if (terminal !== null && terminal.atMs <= now) void this.finalize(record).catch(() => undefined);
    }
  }

  /** Waits for validations and result files under way. */
  async close(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  timeline(record: BatchRecord): Timeline {
    return buildTimeline({
      createdMs: record.createdMs,
      timing: {
        ...record.plan.timing,
        // A cancel is always answered with `cancelling`, even when cancelling takes no time.
        cancellingMs: Math.max(1, record.plan.timing.cancellingMs),
      },
      expireAtFraction: record.plan.expireAtFraction,
      validation: record.validation,
      cancelRequestedMs: record.cancelRequestedMs,
    });
  }

  statusAt(record: BatchRecord, ms: number): BatchStatus {
    return this.history(record, ms).at(-1)?.status ?? 'validating';
  }

  history(record: BatchRecord, ms: number): Transition[] {
    return transitionsUntil(this.timeline(record), ms);
  }

  /** The Batch object at a time, without waiting for anything (the ledger uses it as is). */
  describe(record: BatchRecord, now: number): BatchObject {
    const timeline = this.timeline(record);
    const past = transitionsUntil(timeline, now);
    const status = past.at(-1)?.status ?? 'validating';
    const at = (wanted: BatchStatus): number | null => {
      const transition = past.find((t) => t.status === wanted);
      return transition === undefined ? null : seconds(transition.atMs);
    };
    const final = isTerminal(status) ? record.final : null;
    const scan = record.scan;
    let counts: RequestCounts = { total: 0, completed: 0, failed: 0 };
    if (final !== null) counts = final.counts;
    else if (scan?.ok === true && record.failingPrefix !== null && status !== 'validating' && status !== 'failed') {
      const done = Math.floor(timeline.progressAt(now) * scan.requests);
      const failed = record.failingPrefix[done] as number;
      counts = { total: scan.requests, completed: done - failed, failed };
    }
    const { timing, expireAtFraction } = record.plan;
    const validatedMs = record.validation === null ? record.createdMs + timing.validatingMs : Math.max(record.createdMs + timing.validatingMs, record.validation.doneMs);
    const expiresAt =
      expireAtFraction === null ? seconds(record.createdMs) + COMPLETION_WINDOW_SECONDS : seconds(validatedMs + expireAtFraction * timing.inProgressMs);
    let errors: BatchObject['errors'] = null;
    if (record.validation?.ok === false) {
      errors = { object: 'list', data: record.tokenLimitError !== null ? [record.tokenLimitError] : scan?.ok === false ? scan.errors : [] };
    }
    return {
      id: record.id,
      object: 'batch',
      endpoint: record.params.endpoint,
      model: scan?.model ?? null,
      errors,
      input_file_id: record.params.inputFileId,
      completion_window: record.params.completionWindow,
      status,
      output_file_id: final?.outputFileId ?? null,
      error_file_id: final?.errorFileId ?? null,
      created_at: seconds(record.createdMs),
      in_progress_at: at('in_progress'),
      expires_at: expiresAt,
      finalizing_at: at('finalizing'),
      completed_at: at('completed'),
      failed_at: at('failed'),
      expired_at: at('expired'),
      cancelling_at: at('cancelling'),
      cancelled_at: at('cancelled'),
      request_counts: counts,
      usage: final?.usage ?? zeroUsage(),
      metadata: record.params.metadata,
    };
  }

  private track(promise: Promise<void>): Promise<void> {
    const tracked = promise.finally(() => this.work.delete(tracked));
    this.work.add(tracked);
    return tracked;
  }

  /**
   * The input is read once the validating time is over, not at create: on
   * OpenAI's side validation costs the caller nothing, and a stand-in that
   * parsed every line of each new batch at once took a core from whatever
   * shares its machine (a worker building and uploading the next shards, in
   * the benchmarks) during time that is OpenAI's. A batch cancelled while
   * validating is never read.
   */
  private validationDue(record: BatchRecord, now: number): boolean {
    const dueMs = record.createdMs + record.plan.timing.validatingMs;
    return now >= dueMs && (record.cancelRequestedMs === null || record.cancelRequestedMs >= dueMs);
  }

  /** Starts the input's validation unless it has started; resolves when it is done. */
  private validated(record: BatchRecord): Promise<void> {
    record.scanPromise ??= this.track(this.validate(record));
    return record.scanPromise;
  }

  private async settle(record: BatchRecord): Promise<void> {
    // A read once the validating time is over waits for the validation.
    if (record.validation === null && this.validationDue(record, Date.now())) await this.validated(record);
    const terminal = this.timeline(record).terminal;
    if (terminal !== null && terminal.atMs <= Date.now()) await this.finalize(record);
  }

  private async validate(record: BatchRecord): Promise<void> {
    let scan: ScanResult;
    try {
      const path = this.files.contentPath(record.params.inputFileId);
      if (path === undefined) throw new Error(`the input file ${record.params.inputFileId} is gone`);
      scan = await scanInputFile(path, {
        endpoint: record.params.endpoint,
        plan: record.plan,
        seed: this.options.seed,
        batchSequence: record.sequence,
      });
    } catch (error) {
      this.logError(`could not read the input file of ${record.id}`, error);
      const message = `The input file could not be read: ${error instanceof Error ? error.message : String(error)}`;
      scan = { ok: false, model: null, errors: [{ code: 'internal_error', message, param: null, line: null }] };
    }
    record.scan = scan;
    let ok = scan.ok;
    if (scan.ok) {
      record.tokenLimitError = await this.checkTokenBudget(record, scan.model, scan.estimatedTokens);
      ok = record.tokenLimitError === null;
    }
    if (scan.ok && ok) {
      const order = shuffledIndices(scan.requests, hash32(this.options.seed, record.sequence, 'order'));
      const prefix = new Uint32Array(scan.requests + 1);
      for (let k = 0; k < order.length; k++) prefix[k + 1] = (prefix[k] as number) + (scan.failing[order[k] as number] as number);
      record.order = order;
      record.failingPrefix = prefix;
    }
    record.validation = { doneMs: Date.now(), ok };
  }

  /**
   * OpenAI's organisation-wide enqueued-token limit: the tokens of this batch
   * plus those of every batch of the model still running must fit.
   */
  private async checkTokenBudget(record: BatchRecord, model: string | null, tokens: number): Promise<BatchLineError | null> {
    const budgets = this.faults.tokenBudgetPerModel;
    const budget = (model === null ? undefined : budgets[model]) ?? budgets['*'];
    if (budget === undefined) return null;
    // The batches created before this one count once their inputs are read: read them now, as OpenAI knows them.
    await Promise.allSettled([...this.batches.values()].filter((other) => other.sequence < record.sequence && other.cancelRequestedMs === null).map((other) => this.validated(other)));
    const now = Date.now();
    let enqueued = 0;
    for (const other of this.batches.values()) {
      if (other === record || other.validation?.ok !== true || other.scan?.ok !== true || other.scan.model !== model) continue;
      if (!isTerminal(this.statusAt(other, now))) enqueued += other.scan.estimatedTokens;
    }
    if (enqueued + tokens <= budget) return null;
    return {
      code: 'token_limit_exceeded',
      message: `Enqueued token limit reached for ${model ?? 'this model'} in organization org-emulator. Limit: ${budget.toLocaleString('en-US')} enqueued tokens. Please try again once some in_progress batches have been completed.`,
      param: null,
      line: null,
    };
  }

  private finalize(record: BatchRecord): Promise<void> {
    record.finalizing ??= this.track(this.writeResults(record));
    return record.finalizing;
  }

  private async writeResults(record: BatchRecord): Promise<void> {
    // A batch ends without a validation only when cancelled while validating (validationDue).
    await record.scanPromise;
    const terminal = this.timeline(record).terminal;
    if (terminal === null) throw new Error(`finalize called on ${record.id} before it is terminal`);
    const final: FinalResult = {
      status: terminal.status,
      outputFileId: null,
      errorFileId: null,
      counts: { total: 0, completed: 0, failed: 0 },
      usage: zeroUsage(),
    };
    const scan = record.scan;
    try {
      if (terminal.started && scan?.ok === true && record.order !== null) {
        const inputPath = this.files.contentPath(record.params.inputFileId);
        if (inputPath === undefined) throw new Error(`the input file ${record.params.inputFileId} is gone`);
        const createdAt = seconds(terminal.atMs);
        const output = this.files.allocate();
        const errors = this.files.allocate();
        const summary = await writeResultFiles({
          inputPath,
          scan,
          order: record.order,
          doneCount: Math.floor(terminal.doneFraction * scan.requests),
          unfinishedCode: terminal.status === 'cancelled' ? 'batch_cancelled' : 'batch_expired',
          endpoint: record.params.endpoint,
          plan: record.plan,
          seed: this.options.seed,
          batchSequence: record.sequence,
          batchId: record.id,
          createdAt,
          outputPath: output.path,
          errorPath: errors.path,
        });
        const expiresAt = createdAt + (record.params.outputExpiresAfterSeconds ?? DEFAULT_BATCH_FILE_TTL_SECONDS);
        const keep = async (file: { id: string; path: string }, lines: number, suffix: string): Promise<string | null> => {
          // OpenAI leaves out a result file that would be empty.
          if (lines === 0) {
            await rm(file.path, { force: true });
            return null;
          }
          const bytes = (await stat(file.path)).size;
          this.files.add({ id: file.id, filename: `${record.id}_${suffix}.jsonl`, purpose: 'batch_output', bytes, createdAt, expiresAt, path: file.path });
          return file.id;
        };
        final.outputFileId = await keep(output, summary.outputLines, 'output');
        final.errorFileId = await keep(errors, summary.errorLines, 'error');
        final.counts = { total: scan.requests, completed: summary.outputLines, failed: summary.errorLines };
        final.usage = {
          input_tokens: summary.inputTokens,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: summary.outputTokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: summary.inputTokens + summary.outputTokens,
        };
      }
    } finally {
      await this.files.unpin(record.params.inputFileId);
    }
    record.final = final;
    this.webhooks?.send(WEBHOOK_TYPES[terminal.status], record.id, seconds(terminal.atMs));
  }
}
