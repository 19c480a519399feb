import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Reads a child's memory and CPU from /proc, so a benchmark measures the
 * process under test from outside without tools or code inside it.
 */

const CLOCK_TICKS_PER_SECOND = 100;

function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (match?.[1] === undefined) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** Peak RSS (MiB) since the process started or since the last resetPeakRss. */
export const peakRssMb = (pid: number): number => statusField(pid, 'VmHWM');

export const rssMb = (pid: number): number => statusField(pid, 'VmRSS');

/** Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0): a phase's peak without a new process. */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** User + system CPU time (ms) the process has used. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces; fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}
