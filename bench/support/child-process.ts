import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface BenchChild {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=DIR"): node arguments for the worker a bench measures, to profile it. */
export const workerNodeArgsFromEnv = (): string[] => (process.env['BENCH_WORKER_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');

/** The memory trace settings (support/memory-trace.ts) reach every bench child. */
const memoryTraceEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[0].startsWith('BENCH_MEMORY_TRACE_') && entry[1] !== undefined));

let compiling: Promise<string> | null = null;

/**
 * The sources and the bench entries compiled once per bench process (into a
 * folder of its own, removed at exit): the measured processes run JavaScript
 * as the image runs dist/, with no compiler loaded beside them (tsx's loader
 * thread alone is about 35 MB of a process's RSS).
 */
function compiledRoot(): Promise<string> {
  compiling ??= (async () => {
    const out = join(ROOT, '.scratch', `bench-build-${process.pid}`);
    process.once('exit', () => rmSync(out, { recursive: true, force: true }));
    await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.bench.json'), '--outDir', out], { cwd: ROOT });
    // Beside the compiled src/, as in the image: the service reads its version from it.
    await copyFile(join(ROOT, 'package.json'), join(out, 'package.json'));
    return out;
  })();
  return compiling;
}

/**
 * Runs a bench entry (a .ts file under bench/support or bench/naive) in its own node
 * process, so its RSS and CPU are its own, and resolves once it prints
 * `readyLine`. The entry runs compiled; BENCH_TSX=1 runs the sources through
 * tsx instead (no compile step, 35 MB more per process).
 */
export async function spawnBenchChild(entry: string, env: Record<string, string>, readyLine = 'ready', nodeArgs: readonly string[] = []): Promise<BenchChild> {
  const program = process.env['BENCH_TSX'] === '1' ? ['--import', 'tsx', join(ROOT, entry)] : [join(await compiledRoot(), entry.replace(/\.ts$/, '.js'))];
  const child = spawn(process.execPath, [...nodeArgs, '--openssl-legacy-provider', ...program], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', LOG_LEVEL: 'warn', BATCHLINE_ALLOW_EPHEMERAL_REDIS: '1', ...memoryTraceEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit');
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (output.split('\n').some((line) => line.trim() === readyLine)) {
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    void exited.then(() => reject(new Error(`${entry} exited before it was ready:\n${output}`)));
  });
  return {
    child,
    pid: child.pid ?? 0,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The emulator in its own process (support/emulator-entry.ts); its baseURL and its handle. */
export async function spawnEmulator(options: Record<string, unknown> = {}): Promise<BenchChild & { baseURL: string }> {
  const child = await spawnBenchChild('bench/support/emulator-entry.ts', { BENCH_EMULATOR_OPTIONS: JSON.stringify(options) });
  const baseURL = /^url (\S+)$/m.exec(child.output())?.[1];
  if (baseURL === undefined) throw new Error(`the emulator said no url:\n${child.output()}`);
  return { ...child, baseURL };
}
