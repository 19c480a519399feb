import type { Queue } from 'bullmq';
import { jobPayloadSchemas } from '../queues/job-payloads.js';
import type { PipelineDefinition } from './pipeline-definition.js';
import { schedulerIdOf } from './pipeline-keys.js';
import { repeatOf } from './pipeline-schedule.js';

/**
 * A pipeline's schedule is one BullMQ job scheduler on the collect queue,
 * id `pipeline-<id>`. upsertJobScheduler replaces a scheduler in place
 * (keeping an `every` schedule's next run when the interval is unchanged),
 * so applying the same definition again — a repeated PUT, a restart that
 * re-reads PIPELINES_FILE — never adds a second schedule.
 */
export class PipelineScheduler {
  constructor(private readonly queue: Queue) {}

  /** Makes the scheduler match the definition: upserted when it has an enabled schedule, removed otherwise. */
  async sync(pipelineId: string, definition: PipelineDefinition | null): Promise<void> {
    const id = schedulerIdOf(pipelineId);
    if (definition === null || !definition.enabled || definition.schedule === undefined || definition.source === undefined) {
      await this.queue.removeJobScheduler(id);
      return;
    }
    await this.queue.upsertJobScheduler(id, repeatOf(definition.schedule), {
      name: 'collect',
      data: jobPayloadSchemas.collect.parse({ pipelineId, trigger: 'schedule' }),
    });
  }

  /** When the pipeline's next scheduled collection is due (ISO 8601), or null when it has no schedule. */
  async nextRunAt(pipelineId: string): Promise<string | null> {
    const scheduler = await this.queue.getJobScheduler(schedulerIdOf(pipelineId));
    return scheduler?.next === undefined ? null : new Date(scheduler.next).toISOString();
  }

  /** Next run times of every scheduled pipeline, by pipeline id (one read for the list route). */
  async nextRuns(): Promise<Map<string, string>> {
    const schedulers = await this.queue.getJobSchedulers(0, -1, true);
    const next = new Map<string, string>();
    for (const scheduler of schedulers) {
      if (!scheduler.key.startsWith('pipeline-') || scheduler.next === undefined) continue;
      next.set(scheduler.key.slice('pipeline-'.length), new Date(scheduler.next).toISOString());
    }
    return next;
  }
}
