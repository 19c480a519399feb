/** One BullMQ queue per stage, in the order a run flows through them. */
export const QUEUE_NAMES = ['collect', 'build', 'submit', 'poll', 'results', 'notify'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
