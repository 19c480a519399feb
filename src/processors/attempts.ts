import type { Job } from 'bullmq';

/** True when BullMQ will not run this job again if the current attempt throws. */
export const isLastAttempt = (job: Job): boolean => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
