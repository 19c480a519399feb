import type { Job } from 'bullmq';

/**
 * What a stage job shows as its progress in Bull Board: `progress` (0–100)
 * draws the bar, the rest says what is counted and how far along it is.
 */
export interface StageProgress {
  progress: number;
  step: string;
  done: number;
  total: number;
  unit: string;
}

export interface ProgressReporter {
  /** Reports `done` if the last report is old enough; cheap to call per item. */
  report(done: number): Promise<void>;
  /** Always reports: the step's end (or a point worth showing at once). */
  flush(done: number): Promise<void>;
}

/** Each report is a Redis write; a few per second per job is plenty for a person watching. */
const MIN_INTERVAL_MS = 500;

export function progressReporter(job: Pick<Job, 'updateProgress'>, step: string, unit: string, total: number, now: () => number = Date.now): ProgressReporter {
  let lastAt = Number.NEGATIVE_INFINITY;
  const flush = async (done: number): Promise<void> => {
    lastAt = now();
    const progress = total <= 0 ? 100 : Math.min(100, Math.floor((done * 100) / total));
    const value: StageProgress = { progress, step, done, total, unit };
    await job.updateProgress(value);
  };
  return {
    async report(done) {
      if (now() - lastAt >= MIN_INTERVAL_MS) await flush(done);
    },
    flush,
  };
}
