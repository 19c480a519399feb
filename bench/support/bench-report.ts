import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RESULTS_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'RESULTS.md');

function shell(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
  } catch {
    return 'unknown';
  }
}

/** Machine, date and commit: every section says where and when its figures were taken. */
export function machineLine(command: string): string {
  const commit = shell('git', ['rev-parse', '--short', 'HEAD']);
  const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
  return [
    `Measured ${when} UTC at commit \`${commit}\`, Node ${process.version}, ${shell('nproc', [])} cores (shared with other work: figures are noisy, ratios are against floors from the same run). Command: \`${command}\`.`,
    '',
    '```',
    '$ free -h',
    shell('free', ['-h']),
    '```',
  ].join('\n');
}

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAligned: readonly number[] = []): string {
  const align = header.map((_, index) => (rightAligned.includes(index) ? '---:' : '---'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** Replaces the section under `heading` (up to the next "## ") or appends it; other sections stay as they are. */
export async function writeSection(heading: string, body: string): Promise<void> {
  const section = `${heading}\n\n${body.trim()}\n`;
  let results = existsSync(RESULTS_FILE) ? await readFile(RESULTS_FILE, 'utf8') : '# Benchmark results\n\n';
  const start = results.indexOf(`${heading}\n`);
  if (start === -1) results = `${results.trimEnd()}\n\n${section}`;
  else {
    const next = results.indexOf('\n## ', start + heading.length);
    results = `${results.slice(0, start)}${section}${next === -1 ? '' : `\n${results.slice(next + 1)}`}`;
  }
  await writeFile(RESULTS_FILE, `${results.trimEnd()}\n`);
}

/** BENCH_QUICK=1: small sizes for a smoke run; its figures are printed but not written to RESULTS.md. */
export const quick = process.env['BENCH_QUICK'] === '1';
export const shouldWrite = !quick && !process.argv.includes('--no-write');

export const fixed = (value: number, digits = 0): string => value.toFixed(digits);
export const verdict = (met: boolean): string => (met ? '**met**' : '**missed**');
