import type { Redis } from 'ioredis';
import type { Logger } from '../lib/logger.js';

/** Upper bounds (seconds) of the batch-finished → results-stored histogram: seconds with webhooks, minutes when polling backs off. */
export const RESULTS_LATENCY_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200] as const;

export const BATCH_END_STATUSES = ['completed', 'failed', 'expired', 'cancelled'] as const;
/** rejected: the signature did not verify; invalid: it did, but the body is not an OpenAI event. */
export const WEBHOOK_OUTCOMES = ['accepted', 'duplicate', 'unknown_batch', 'ignored', 'rejected', 'invalid'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** Everything /metrics shows about the stages' work, read in one go. */
export interface MetricsSnapshot {
  pollChecks: number;
  batchesCreated: number;
  batchesFinished: Record<string, number>;
  requests: { succeeded: number; failed: number };
  slackFailures: number;
  /** Failed collection attempts by pipeline id. */
  collectionsFailed: Record<string, number>;
  webhooks: Record<string, number>;
  resultsLatency: { buckets: Map<number, number>; count: number; sum: number };
}

/** How long the moment a batch ended is kept waiting for its results to be stored (a shard whose results never land must not leak a key). */
const FINISHED_AT_TTL_SECONDS = 7 * 24 * 3600;

/**
 * The events the stages report, counted in Redis rather than in process
 * memory: workers have no HTTP server, so the API's /metrics can show the
 * whole deployment's work only if the counts live where every process can
 * read them. Counters survive restarts, which Prometheus handles either way.
 *
 * Recording never fails a job: a metric lost to a Redis hiccup is logged
 * and forgotten, the job's own work is what matters.
 */
export class ServiceMetrics {
  private readonly countersKey: string;
  private readonly latencyKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.countersKey = `${prefix}:metrics:counters`;
    this.latencyKey = `${prefix}:metrics:results-latency`;
  }

  private finishedAtKey = (batchId: string): string => `${this.prefix}:metrics:batch-finished-at:${batchId}`;

  /** One batches.retrieve by the poll stage. */
  async pollChecked(): Promise<void> {
    await this.record(() => this.redis.hincrby(this.countersKey, 'poll_checks', 1));
  }

  async batchCreated(): Promise<void> {
    await this.record(() => this.redis.hincrby(this.countersKey, 'batches_created', 1));
  }

  /** A batch reached a final status; `endedAtMs` is when OpenAI says it ended (null: now). */
  async batchFinished(batchId: string, status: string, endedAtMs: number | null): Promise<void> {
    await this.record(() =>
      this.redis
        .multi()
        .hincrby(this.countersKey, `batches_finished|${status}`, 1)
        .set(this.finishedAtKey(batchId), String(endedAtMs ?? Date.now()), 'EX', FINISHED_AT_TTL_SECONDS)
        .exec(),
    );
  }

  /** A shard's results are stored: counts its requests and how long after the batch ended that happened. */
  async resultsStored(batchId: string | null, succeeded: number, failed: number, nowMs = Date.now()): Promise<void> {
    await this.record(async () => {
      const endedAt = batchId === null ? null : await this.redis.getdel(this.finishedAtKey(batchId));
      const transaction = this.redis.multi().hincrby(this.countersKey, 'requests|succeeded', succeeded).hincrby(this.countersKey, 'requests|failed', failed);
      if (endedAt !== null) {
        const seconds = Math.max(0, (nowMs - Number(endedAt)) / 1000);
        // Buckets are stored cumulative, as Prometheus exposes them.
        for (const bound of RESULTS_LATENCY_BUCKETS) if (seconds <= bound) transaction.hincrby(this.latencyKey, `le|${bound}`, 1);
        transaction.hincrby(this.latencyKey, 'count', 1).hincrbyfloat(this.latencyKey, 'sum', seconds);
      }
      await transaction.exec();
    });
  }

  async slackFailed(): Promise<void> {
    await this.record(() => this.redis.hincrby(this.countersKey, 'slack_failures', 1));
  }

  /** A collection attempt of the pipeline failed (each attempt, retried or not: a source failing every tick shows as a steady rate). */
  async collectionFailed(pipelineId: string): Promise<void> {
    await this.record(() => this.redis.hincrby(this.countersKey, `collections_failed|${pipelineId}`, 1));
  }

  async webhookReceived(outcome: WebhookOutcome): Promise<void> {
    await this.record(() => this.redis.hincrby(this.countersKey, `webhooks|${outcome}`, 1));
  }

  async read(): Promise<MetricsSnapshot> {
    const [counters, latency] = await Promise.all([this.redis.hgetall(this.countersKey), this.redis.hgetall(this.latencyKey)]);
    const count = (field: string): number => Number(counters[field] ?? 0);
    const labelled = (family: string, known: readonly string[]): Record<string, number> => {
      const values: Record<string, number> = Object.fromEntries(known.map((label) => [label, 0]));
      for (const [field, value] of Object.entries(counters)) {
        if (field.startsWith(`${family}|`)) values[field.slice(family.length + 1)] = Number(value);
      }
      return values;
    };
    return {
      pollChecks: count('poll_checks'),
      batchesCreated: count('batches_created'),
      batchesFinished: labelled('batches_finished', BATCH_END_STATUSES),
      requests: { succeeded: count('requests|succeeded'), failed: count('requests|failed') },
      slackFailures: count('slack_failures'),
      collectionsFailed: labelled('collections_failed', []),
      webhooks: labelled('webhooks', WEBHOOK_OUTCOMES),
      resultsLatency: {
        buckets: new Map(RESULTS_LATENCY_BUCKETS.map((bound) => [bound, Number(latency[`le|${bound}`] ?? 0)])),
        count: Number(latency['count'] ?? 0),
        sum: Number(latency['sum'] ?? 0),
      },
    };
  }

  private async record(write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'metric not recorded');
    }
  }
}
