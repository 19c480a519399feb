import type { JobState } from 'bullmq';
import { Counter, Gauge, Registry } from 'prom-client';
import { QUEUE_NAMES } from '../queues/queue-names.js';
import type { StageQueues } from '../queues/stage-queues.js';
import type { MetricsSnapshot, ServiceMetrics } from './service-metrics.js';

/** The job states BullMQ counts per queue. */
export const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const satisfies readonly JobState[];

const LATENCY_NAME = 'batchline_results_latency_seconds';
const LATENCY_HELP = 'Time from a batch ending (by OpenAI\'s own timestamp) to its results being stored';

/**
 * The Prometheus view of one deployment. A registry of its own per app (not
 * prom-client's global default) so several services in one process — the
 * test suites — never share or collide. Values are read from Redis on each
 * scrape: queue counts from BullMQ, stage events from ServiceMetrics.
 */
export class MetricsExporter {
  readonly registry = new Registry();
  private readonly queueJobs: Gauge<'queue' | 'state'>;
  private readonly pollChecks: Counter;
  private readonly batchesCreated: Counter;
  private readonly batchesFinished: Counter<'status'>;
  private readonly requests: Counter<'outcome'>;
  private readonly slackFailures: Counter;
  private readonly collectionsFailed: Counter<'pipeline'>;
  private readonly webhooks: Counter<'outcome'>;
  private latency: MetricsSnapshot['resultsLatency'] = { buckets: new Map(), count: 0, sum: 0 };

  constructor(
    private readonly queues: StageQueues,
    private readonly metrics: ServiceMetrics,
  ) {
    const registers = [this.registry];
    this.queueJobs = new Gauge({ name: 'batchline_queue_jobs', help: 'Jobs per queue and state', labelNames: ['queue', 'state'], registers });
    this.pollChecks = new Counter({ name: 'batchline_poll_checks_total', help: 'Batch status checks (batches.retrieve by the poll stage)', registers });
    this.batchesCreated = new Counter({ name: 'batchline_batches_created_total', help: 'Batches created on OpenAI', registers });
    this.batchesFinished = new Counter({ name: 'batchline_batches_finished_total', help: 'Batches that reached a final status, by status', labelNames: ['status'], registers });
    this.requests = new Counter({ name: 'batchline_requests_total', help: 'Batch requests with a stored result, by outcome', labelNames: ['outcome'], registers });
    this.slackFailures = new Counter({ name: 'batchline_slack_failures_total', help: 'Slack posts that failed', registers });
    this.collectionsFailed = new Counter({ name: 'batchline_collections_failed_total', help: 'Failed collection attempts (source missing, access denied…), by pipeline', labelNames: ['pipeline'], registers });
    this.webhooks = new Counter({ name: 'batchline_webhooks_total', help: 'OpenAI webhooks received, by outcome', labelNames: ['outcome'], registers });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition, read fresh from Redis. */
  async scrape(): Promise<string> {
    const [snapshot, counts] = await Promise.all([this.metrics.read(), Promise.all(QUEUE_NAMES.map((name) => this.queues[name].getJobCounts(...JOB_STATES)))]);
    QUEUE_NAMES.forEach((queue, index) => {
      for (const state of JOB_STATES) this.queueJobs.set({ queue, state }, counts[index]?.[state] ?? 0);
    });
    // Counters hold totals kept in Redis: replace, not add to, what the last scrape set.
    setCounter(this.pollChecks, snapshot.pollChecks);
    setCounter(this.batchesCreated, snapshot.batchesCreated);
    setLabelledCounter(this.batchesFinished, 'status', snapshot.batchesFinished);
    setLabelledCounter(this.requests, 'outcome', snapshot.requests);
    setCounter(this.slackFailures, snapshot.slackFailures);
    setLabelledCounter(this.collectionsFailed, 'pipeline', snapshot.collectionsFailed);
    setLabelledCounter(this.webhooks, 'outcome', snapshot.webhooks);
    this.latency = snapshot.resultsLatency;
    return `${await this.registry.metrics()}\n${renderHistogram(LATENCY_NAME, LATENCY_HELP, this.latency)}`;
  }
}

function setCounter(counter: Counter, value: number): void {
  counter.reset();
  counter.inc(value);
}

function setLabelledCounter<Label extends string>(counter: Counter<Label>, label: Label, values: Record<string, number>): void {
  counter.reset();
  for (const [labelValue, value] of Object.entries(values)) counter.inc({ [label]: labelValue } as Partial<Record<Label, string>>, value);
}

/**
 * prom-client's Histogram can only observe one value at a time, and this one
 * is accumulated in Redis by every worker, so it is written out directly in
 * the text format (cumulative buckets, +Inf, _sum, _count).
 */
export function renderHistogram(name: string, help: string, histogram: MetricsSnapshot['resultsLatency']): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  for (const [bound, count] of histogram.buckets) lines.push(`${name}_bucket{le="${bound}"} ${count}`);
  lines.push(`${name}_bucket{le="+Inf"} ${histogram.count}`, `${name}_sum ${histogram.sum}`, `${name}_count ${histogram.count}`);
  return `${lines.join('\n')}\n`;
}
