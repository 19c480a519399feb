import type { BatchEngine, BatchObject, RequestCounts } from './batch-engine.js';
import type { BatchStatus } from './batch-timeline.js';
import type { FileStore, FilePurpose } from './file-store.js';
import type { WebhookDelivery, WebhookSender } from './webhook-sender.js';

/**
 * What tests read to check the service from the outside: every batch ever
 * created (also those whose create response was lost), every file, every
 * webhook delivery. Reads are synchronous and derive the status from the
 * clock; result file ids appear once a client (or the webhook sweep) has
 * seen the batch turn terminal.
 */
export interface LedgerBatch {
  id: string;
  /** 1-based creation order. */
  sequence: number;
  createdAtMs: number;
  endpoint: string;
  inputFileId: string;
  completionWindow: string;
  metadata: Record<string, string> | null;
  model: string | null;
  status: BatchStatus;
  statusHistory: Array<{ status: BatchStatus; atMs: number }>;
  requestCounts: RequestCounts;
  outputFileId: string | null;
  errorFileId: string | null;
  errors: BatchObject['errors'];
  /** The batch exists but its create response was dropped on purpose. */
  createResponseDropped: boolean;
}

export interface LedgerFile {
  id: string;
  filename: string;
  purpose: FilePurpose;
  bytes: number;
  createdAt: number;
  deleted: boolean;
}

export interface EmulatorLedger {
  /** Every batch ever created, oldest first; optionally only those whose metadata has these values. */
  batches(filter?: { metadata?: Record<string, string> }): LedgerBatch[];
  batch(id: string): LedgerBatch | undefined;
  /** Batches grouped by the values of these metadata keys (batches lacking one of them are left out). */
  groupByMetadata(keys: readonly string[]): Map<string, LedgerBatch[]>;
  /** Groups of more than one batch with equal values for these keys: empty means "exactly one batch per key". */
  duplicates(keys: readonly string[]): LedgerBatch[][];
  files(): LedgerFile[];
  webhookDeliveries(): WebhookDelivery[];
}

export function createLedger(engine: BatchEngine, files: FileStore, webhooks: WebhookSender | null): EmulatorLedger {
  const toLedgerBatch = (record: ReturnType<BatchEngine['records']>[number], now: number): LedgerBatch => {
    const batch = engine.describe(record, now);
    return {
      id: batch.id,
      sequence: record.sequence,
      createdAtMs: record.createdMs,
      endpoint: batch.endpoint,
      inputFileId: batch.input_file_id,
      completionWindow: batch.completion_window,
      metadata: batch.metadata === null ? null : { ...batch.metadata },
      model: batch.model,
      status: batch.status,
      statusHistory: engine.history(record, now).map(({ status, atMs }) => ({ status, atMs })),
      requestCounts: { ...batch.request_counts },
      outputFileId: batch.output_file_id,
      errorFileId: batch.error_file_id,
      errors: batch.errors,
      createResponseDropped: record.createResponseDropped,
    };
  };

  const batches = (filter?: { metadata?: Record<string, string> }): LedgerBatch[] => {
    const now = Date.now();
    return engine
      .records()
      .filter((record) => Object.entries(filter?.metadata ?? {}).every(([key, value]) => record.params.metadata?.[key] === value))
      .map((record) => toLedgerBatch(record, now));
  };

  const groupByMetadata = (keys: readonly string[]): Map<string, LedgerBatch[]> => {
    const groups = new Map<string, LedgerBatch[]>();
    for (const batch of batches()) {
      const values = keys.map((key) => batch.metadata?.[key]);
      if (values.some((value) => value === undefined)) continue;
      const groupKey = JSON.stringify(values);
      groups.set(groupKey, [...(groups.get(groupKey) ?? []), batch]);
    }
    return groups;
  };

  return {
    batches,
    batch: (id) => {
      const record = engine.get(id);
      return record === undefined ? undefined : toLedgerBatch(record, Date.now());
    },
    groupByMetadata,
    duplicates: (keys) => [...groupByMetadata(keys).values()].filter((group) => group.length > 1),
    files: () =>
      files.all().map(({ id, filename, purpose, bytes, createdAt, deleted }) => ({ id, filename, purpose, bytes, createdAt, deleted })),
    webhookDeliveries: () => [...(webhooks?.deliveries ?? [])],
  };
}
