import { Job, QueueEvents } from 'bullmq';
import type { CollectOutcome } from '../../src/pipelines/collection/collect-pipeline.js';
import type { TestService } from './test-service.js';

export interface CollectJobs {
  events: QueueEvents;
  /** POST /v1/pipelines/:id/trigger, then the collect job's return value once it has completed. */
  trigger(pipelineId: string, timeoutMs?: number): Promise<CollectOutcome & { jobId: string }>;
  /** The return value of a collect job once it has completed (at once if it already has). */
  wait(jobId: string, timeoutMs?: number): Promise<CollectOutcome>;
  close(): Promise<void>;
}

/** Watches the collect queue of a test service through BullMQ's QueueEvents: tests await jobs, never sleep. */
export async function watchCollectJobs(t: Pick<TestService, 'request' | 'service'>, redisUrl: string, prefix: string): Promise<CollectJobs> {
  const events = new QueueEvents('collect', { connection: { url: redisUrl }, prefix });
  await events.waitUntilReady();
  const wait = async (jobId: string, timeoutMs = 60_000): Promise<CollectOutcome> => {
    const job = await Job.fromId(t.service.deps.queues.collect, jobId);
    if (job === undefined) throw new Error(`no collect job ${jobId}`);
    return (await job.waitUntilFinished(events, timeoutMs)) as CollectOutcome;
  };
  return {
    events,
    wait,
    async trigger(pipelineId, timeoutMs) {
      const response = await t.request('POST', `/v1/pipelines/${pipelineId}/trigger`);
      if (response.status !== 202) throw new Error(`trigger ${pipelineId}: ${response.status} ${response.text}`);
      const { job_id: jobId } = response.body as { job_id: string };
      return { ...(await wait(jobId, timeoutMs)), jobId };
    },
    close: () => events.close(),
  };
}
