import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';

/** The shortest `every` accepted: a collection lists the whole source, so sub-second schedules only burn listings. */
export const MIN_EVERY_MS = 1000;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+)(ms|s|m|h|d)/g;

/** "6h", "30m", "15s", "1h30m", "500ms" → milliseconds; null when the text is not a duration. */
export function parseEvery(text: string): number | null {
  if (!DURATION.test(text)) return null;
  let total = 0;
  for (const match of text.matchAll(DURATION_PART)) total += Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
  return Number.isSafeInteger(total) ? total : null;
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * The @-macros cron-parser expands (its PredefinedExpressions, matched
 * exactly, case and all): the only one-word expressions taken.
 */
export const CRON_MACROS: readonly string[] = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@secondly', '@weekdays', '@weekends'];

/**
 * Why the expression has the wrong number of fields, or null. cron-parser
 * fills missing leading fields with defaults, so "* * *" would quietly mean
 * every minute and "5" every Friday: anything but five fields, six with
 * seconds first, or a macro is refused before it is parsed.
 */
export function cronFieldCountProblem(cron: string): string | null {
  const text = cron.trim();
  if (CRON_MACROS.includes(text)) return null;
  const count = text === '' ? 0 : text.split(/\s+/).length;
  if (count === 5 || count === 6) return null;
  return `has ${count} field${count === 1 ? '' : 's'}; expected 5 (minute hour day-of-month month day-of-week), 6 with seconds first, or one of ${CRON_MACROS.join(', ')}`;
}

/** Why a cron expression is refused (its field count, else cron-parser's own words), or null when BullMQ will accept it. */
export function cronProblem(cron: string, tz: string | undefined): string | null {
  const fieldCount = cronFieldCountProblem(cron);
  if (fieldCount !== null) return fieldCount;
  try {
    // The same parser BullMQ computes the next run with, so what passes here schedules there.
    CronExpressionParser.parse(cron, tz === undefined ? {} : { tz });
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * A pipeline's schedule: `{ cron, tz? }` (5 fields, or 6 with seconds, or an @-macro;
 * `tz` an IANA zone, UTC when absent) or `{ every }` (a duration such as
 * "6h"). One flat strict object checked as a whole, so every message names
 * the exact field (`schedule.cron`, `schedule.tz`, `schedule.every`).
 */
export const scheduleSchema = z
  .strictObject({
    cron: z.string().trim().min(1, 'must be a cron expression such as "0 */6 * * *"').optional(),
    tz: z.string().min(1).optional(),
    every: z.string().optional(),
  })
  .superRefine((schedule, ctx) => {
    if (schedule.cron === undefined && schedule.every === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs "cron" (with an optional "tz") or "every"' });
      return;
    }
    if (schedule.cron !== undefined && schedule.every !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['every'], message: 'give "cron" or "every", not both' });
      return;
    }
    if (schedule.tz !== undefined) {
      if (schedule.cron === undefined) ctx.addIssue({ code: 'custom', path: ['tz'], message: '"tz" applies to "cron" schedules only' });
      else if (!isTimeZone(schedule.tz)) ctx.addIssue({ code: 'custom', path: ['tz'], message: `"${schedule.tz}" is not an IANA time zone (e.g. "Europe/Paris", "UTC")` });
    }
    if (schedule.cron !== undefined) {
      const tz = schedule.tz !== undefined && isTimeZone(schedule.tz) ? schedule.tz : undefined;
      const problem = cronProblem(schedule.cron, tz);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['cron'], message: `invalid cron expression "${schedule.cron}": ${problem}` });
    }
    if (schedule.every !== undefined) {
      const ms = parseEvery(schedule.every);
      if (ms === null) ctx.addIssue({ code: 'custom', path: ['every'], message: `"${schedule.every}" is not a duration such as "6h", "30m", "15s" or "1h30m"` });
      else if (ms < MIN_EVERY_MS) ctx.addIssue({ code: 'custom', path: ['every'], message: `must be at least 1s (got ${ms} ms)` });
    }
  });

export type Schedule = z.output<typeof scheduleSchema>;

/** What BullMQ's upsertJobScheduler takes for a validated schedule. */
export type SchedulerRepeat = { pattern: string; tz?: string } | { every: number };

export function repeatOf(schedule: Schedule): SchedulerRepeat {
  if (schedule.cron !== undefined) return schedule.tz === undefined ? { pattern: schedule.cron } : { pattern: schedule.cron, tz: schedule.tz };
  const every = schedule.every === undefined ? null : parseEvery(schedule.every);
  if (every === null) throw new Error('repeatOf: the schedule was not validated');
  return { every };
}
