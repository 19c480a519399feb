import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';

export type CrashConfig = Pick<Config, 'BATCHLINE_CRASH_AT' | 'BATCHLINE_CRASH_MARKER_DIR'>;

/** One entry of BATCHLINE_CRASH_AT: a point's name and the pass (1-based) it fires on. */
export interface CrashRule {
  point: string;
  pass: number;
  /** As written, e.g. `results:mid-download#200`: also the marker file's name. */
  spec: string;
}

/** Parses `a:b,c:d#3` into rules; a bad entry is a test's typo, so it throws rather than never firing. */
export function parseCrashRules(value: string): CrashRule[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((spec) => {
      const match = /^([a-z0-9-]+:[a-z0-9-]+)(?:#([1-9][0-9]*))?$/.exec(spec);
      if (match === null) throw new Error(`BATCHLINE_CRASH_AT: "${spec}" is not a crash point (stage:point, optionally #N)`);
      return { point: match[1] ?? spec, pass: match[2] === undefined ? 1 : Number(match[2]), spec };
    });
}

const rulesByValue = new Map<string, CrashRule[]>();
/** Passes through each point in this process; `#N` counts them. */
const passes = new Map<string, number>();

const killThisProcess = (): void => {
  process.kill(process.pid, 'SIGKILL');
};

/**
 * Test-only: when BATCHLINE_CRASH_AT names this point, the process dies
 * here with SIGKILL — no shutdown, no finally, no flushed logs — exactly as
 * a machine losing power would leave the ledger and the queues. With
 * BATCHLINE_CRASH_MARKER_DIR set, a point fires once per marker file, so the
 * restarted worker runs through it. Unset (always, outside tests) it costs a
 * comparison.
 */
export function crashPoint(name: string, config: CrashConfig, kill: () => void = killThisProcess): void {
  const configured = config.BATCHLINE_CRASH_AT;
  if (configured === undefined) return;
  let rules = rulesByValue.get(configured);
  if (rules === undefined) {
    rules = parseCrashRules(configured);
    rulesByValue.set(configured, rules);
  }
  if (!rules.some((rule) => rule.point === name)) return;
  const pass = (passes.get(name) ?? 0) + 1;
  passes.set(name, pass);
  for (const rule of rules) {
    if (rule.point !== name || rule.pass !== pass) continue;
    if (!claimMarker(rule, config.BATCHLINE_CRASH_MARKER_DIR)) continue;
    // stderr to a pipe or file is synchronous on Linux: this line is out before the process is gone.
    process.stderr.write(`batchline: crash point ${rule.spec} reached; killing this process (BATCHLINE_CRASH_AT)\n`);
    kill();
  }
}

/** True when this rule may fire: no marker folder, or its marker did not exist and now does. */
function claimMarker(rule: CrashRule, markerDir: string | undefined): boolean {
  if (markerDir === undefined) return true;
  try {
    // Written synchronously before the kill: the page cache outlives the process.
    writeFileSync(path.join(markerDir, `crashed-${rule.spec.replace(/[^a-z0-9-]/g, '_')}`), `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Forgets the passes counted so far (unit tests run several scenarios in one process). */
export function resetCrashPasses(): void {
  passes.clear();
}
