import type { RunRecord } from '../../src/runs/run-record.js';

/** A run record of raw request lines, as the ledger holds one, with the fields a test cares about set. */
export function runRecordOf(fields: Partial<RunRecord> & Pick<RunRecord, 'id'>): RunRecord {
  const at = fields.created_at ?? '2026-01-01T00:00:00.000Z';
  return {
    pipeline_id: null,
    phase: 'sharded',
    created_at: at,
    updated_at: at,
    finished_at: null,
    input_kind: 'requests',
    endpoint: '/v1/chat/completions',
    model: 'gpt-4o-mini',
    template: null,
    items: 1,
    rejected: 0,
    shard_count: 1,
    cancel_requested: false,
    error: null,
    results_url: null,
    errors_url: null,
    source: null,
    slack_webhook_url: null,
    metadata: null,
    output_url: null,
    ...fields,
  };
}
