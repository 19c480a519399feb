import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import path from 'node:path';

export interface WorkerProcess {
  child: ChildProcess;
  /** What the process printed so far (for failure messages). */
  output(): string;
  /** SIGKILL: a crash, as the service sees it. */
  kill(): Promise<void>;
  /** SIGTERM: a graceful stop. */
  stop(): Promise<void>;
  /** Resolves when the process has ended, however it ended (a crash point kills it from inside). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const BIN = path.resolve('bin/batchline.js');

/** Runs `batchline worker` in a child process with exactly the given environment (plus PATH and HOME). */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [BIN, 'worker'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // 'close', not 'exit': 'exit' can come before the last output is read, and a test reads the crash line right after.
  const exited = once(child, 'close').then(async ([code, signal]) => {
    // A process killed (SIGKILL, a crash point) cannot remove its own work folder, as a stopped one does.
    if (signal !== null && child.pid !== undefined) await rm(path.join(env['TMPDIR'] ?? '/tmp', `batchline-work-${child.pid}`), { recursive: true, force: true });
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    await exited;
  };
  return { child, output: () => output, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM'), exited };
}
