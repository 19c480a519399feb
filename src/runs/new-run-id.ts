import { randomBytes } from 'node:crypto';

/** Run ids sort by creation time (a base-36 millisecond prefix) and are unguessable after it. */
export const newRunId = (now = Date.now()): string => `run_${now.toString(36).padStart(9, '0')}${randomBytes(8).toString('hex')}`;
