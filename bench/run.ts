/**
 * `npm run bench [-- filter]`: runs every bench/*.bench.ts whose name holds
 * the filter, each in its own node process and one after another (so each
 * measures its own peak RSS and none competes with another for the 2 cores),
 * and exits non-zero when one fails. BENCH_QUICK=1 passes through: small
 * sizes, a smoke run that writes nothing to RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const filter = process.argv.slice(2).find((arg) => !arg.startsWith('--'));
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--'));
const benches = (await readdir(HERE)).filter((name) => name.endsWith('.bench.ts') && (filter === undefined || name.includes(filter))).sort();
if (benches.length === 0) {
  process.stderr.write(`no benchmark matches ${JSON.stringify(filter)}\n`);
  process.exit(1);
}

const failed: string[] = [];
for (const bench of benches) {
  process.stdout.write(`\n=== ${bench}${process.env['BENCH_QUICK'] === '1' ? ' (BENCH_QUICK)' : ''}\n`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', join(HERE, bench), ...passThrough], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --openssl-legacy-provider`.trim() },
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  if (code !== 0) {
    failed.push(bench);
    process.stdout.write(`=== ${bench} FAILED (${signal ?? `exit ${code}`}) after ${seconds} s\n`);
  } else process.stdout.write(`=== ${bench} done in ${seconds} s\n`);
}
process.stdout.write(`\n${benches.length - failed.length} of ${benches.length} benchmarks ran${failed.length > 0 ? `; failed: ${failed.join(', ')}` : ''}\n`);
process.exit(failed.length > 0 ? 1 : 0);
