import type { BatchTiming } from './batch-fault-plan.js';

/**
 * A batch's lifecycle is not driven by timers: it is a pure function of when
 * the batch was created, when its input was validated, whether and when a
 * cancel was asked, and the configured timing. Any read at any time derives
 * the same status, so no per-batch timer exists and timing 0 means "terminal
 * at the first look".
 */
export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];
export type TerminalStatus = 'completed' | 'failed' | 'expired' | 'cancelled';

export interface TimelineInput {
  createdMs: number;
  timing: BatchTiming;
  expireAtFraction: number | null;
  /** null while the input file is still being read. */
  validation: { doneMs: number; ok: boolean } | null;
  cancelRequestedMs: number | null;
}

export interface Transition {
  status: BatchStatus;
  atMs: number;
}

export interface Timeline {
  /** In order; later entries win ties. The last one is the terminal one when there is one. */
  transitions: Transition[];
  /** `started`: the batch got to in_progress (a batch cancelled while validating has no results). */
  terminal: { status: TerminalStatus; atMs: number; doneFraction: number; started: boolean } | null;
  /** The share of requests done at a time before the terminal one. */
  progressAt(ms: number): number;
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

export function buildTimeline(input: TimelineInput): Timeline {
  const { createdMs, timing, expireAtFraction, validation, cancelRequestedMs: cancelMs } = input;
  const transitions: Transition[] = [{ status: 'validating', atMs: createdMs }];
  const validatedMs = validation === null ? null : Math.max(createdMs + timing.validatingMs, validation.doneMs);

  if (cancelMs !== null && (validatedMs === null || cancelMs < validatedMs)) {
    transitions.push({ status: 'cancelling', atMs: cancelMs });
    const atMs = cancelMs + timing.cancellingMs;
    transitions.push({ status: 'cancelled', atMs });
    return { transitions, terminal: { status: 'cancelled', atMs, doneFraction: 0, started: false }, progressAt: () => 0 };
  }
  if (validation === null || validatedMs === null) return { transitions, terminal: null, progressAt: () => 0 };
  if (!validation.ok) {
    transitions.push({ status: 'failed', atMs: validatedMs });
    return { transitions, terminal: { status: 'failed', atMs: validatedMs, doneFraction: 0, started: false }, progressAt: () => 0 };
  }

  transitions.push({ status: 'in_progress', atMs: validatedMs });
  const inProgressEndMs = validatedMs + timing.inProgressMs;
  const running = (ms: number): number => (timing.inProgressMs === 0 ? 1 : clamp01((ms - validatedMs) / timing.inProgressMs));
  const expireMs = expireAtFraction === null ? null : validatedMs + expireAtFraction * timing.inProgressMs;
  const naturalEndMs = expireMs ?? inProgressEndMs + timing.finalizingMs;
  // With no in-progress time, "part-way" cannot come from the clock: the fraction itself says how far it got.
  const expiredFraction = expireAtFraction ?? 1;

  if (cancelMs !== null && cancelMs < naturalEndMs) {
    if (cancelMs >= inProgressEndMs && expireMs === null) transitions.push({ status: 'finalizing', atMs: inProgressEndMs });
    const doneFraction = Math.min(running(cancelMs), expiredFraction);
    transitions.push({ status: 'cancelling', atMs: cancelMs });
    const atMs = cancelMs + timing.cancellingMs;
    transitions.push({ status: 'cancelled', atMs });
    return {
      transitions,
      terminal: { status: 'cancelled', atMs, doneFraction, started: true },
      progressAt: (ms) => (ms >= cancelMs ? doneFraction : Math.min(running(ms), expiredFraction)),
    };
  }
  if (expireMs !== null) {
    transitions.push({ status: 'expired', atMs: expireMs });
    return {
      transitions,
      terminal: { status: 'expired', atMs: expireMs, doneFraction: expiredFraction, started: true },
      progressAt: (ms) => Math.min(running(ms), expiredFraction),
    };
  }
  transitions.push({ status: 'finalizing', atMs: inProgressEndMs });
  const completedMs = inProgressEndMs + timing.finalizingMs;
  transitions.push({ status: 'completed', atMs: completedMs });
  return { transitions, terminal: { status: 'completed', atMs: completedMs, doneFraction: 1, started: true }, progressAt: running };
}

/** The transitions that have happened by `ms`. */
export function transitionsUntil(timeline: Timeline, ms: number): Transition[] {
  return timeline.transitions.filter((transition) => transition.atMs <= ms);
}

export function statusAt(timeline: Timeline, ms: number): BatchStatus {
  const past = transitionsUntil(timeline, ms);
  return (past[past.length - 1] ?? { status: 'validating' }).status;
}

export const isTerminal = (status: BatchStatus): status is TerminalStatus =>
  status === 'completed' || status === 'failed' || status === 'expired' || status === 'cancelled';
