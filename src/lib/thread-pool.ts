import { Worker, type TransferListItem } from 'node:worker_threads';
import type { ThreadAnswer, ThreadTask } from './thread-tasks.js';

interface PendingTask<Output> {
  resolve: (output: Output) => void;
  reject: (error: Error) => void;
}

interface PoolThread<Output> {
  worker: Worker;
  tasks: Map<number, PendingTask<Output>>;
}

/**
 * Starts a thread running `module`. From the TypeScript sources (tsx, as
 * `npm run demo` and the tests run), the thread first registers tsx, as
 * bin/batchline.js does for the process: a thread does not inherit a loader
 * registered at run time.
 */
function startModuleThread(module: URL): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(module.href)}); })`;
  return new Worker(bootstrap, { eval: true, execArgv: [] });
}

/**
 * A few threads that each run `module` (which calls serveThreadTasks) for
 * CPU-bound work off the event loop. Threads start on first need, one more
 * only while every running one is busy, and the task goes to the least busy.
 * A thread that dies fails its own tasks and is replaced on next need. Idle
 * threads do not keep the process alive.
 */
export class ThreadPool<Input, Output> {
  private readonly threads: Array<PoolThread<Output>> = [];
  private nextTaskId = 0;
  private closed = false;
  /** Tasks that came back answered (with an output or an error), for logs and tests. */
  answered = 0;

  constructor(
    private readonly module: URL,
    private readonly size: number,
    /** Told when a thread stops other than by close (a crash, an exit): its tasks have failed. */
    private readonly onThreadLost: (error: Error) => void = () => undefined,
  ) {}

  /** Runs one task; `transfer` lists buffers of the input that move to the thread (unusable here afterwards). */
  run(input: Input, transfer: TransferListItem[] = []): Promise<Output> {
    if (this.closed) return Promise.reject(new Error('the thread pool is closed'));
    const thread = this.threadForTask();
    const id = (this.nextTaskId += 1);
    return new Promise<Output>((resolve, reject) => {
      // A thread with work keeps the process alive, as any pending I/O does; an idle one does not.
      if (thread.tasks.size === 0) thread.worker.ref();
      thread.tasks.set(id, { resolve, reject });
      const task: ThreadTask<Input> = { id, input };
      thread.worker.postMessage(task, transfer);
    });
  }

  /** Stops every thread; tasks still running fail. */
  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** Threads running now. */
  get threadCount(): number {
    return this.threads.length;
  }

  private threadForTask(): PoolThread<Output> {
    let leastBusy = this.threads[0];
    for (const thread of this.threads) if (thread.tasks.size < (leastBusy?.tasks.size ?? 0)) leastBusy = thread;
    if (leastBusy !== undefined && (leastBusy.tasks.size === 0 || this.threads.length >= this.size)) return leastBusy;
    return this.startThread();
  }

  private startThread(): PoolThread<Output> {
    const thread: PoolThread<Output> = { worker: startModuleThread(this.module), tasks: new Map() };
    const fail = (error: Error): void => {
      // Once: a crash is an 'error' then an 'exit'; a thread stopped by close is no longer listed.
      const at = this.threads.indexOf(thread);
      if (at !== -1) {
        this.threads.splice(at, 1);
        this.onThreadLost(error);
      }
      for (const task of thread.tasks.values()) task.reject(error);
      thread.tasks.clear();
    };
    thread.worker.on('message', (answer: ThreadAnswer<Output>) => {
      const task = thread.tasks.get(answer.id);
      if (task === undefined) return;
      thread.tasks.delete(answer.id);
      this.answered += 1;
      if (thread.tasks.size === 0) thread.worker.unref();
      if ('error' in answer) task.reject(Object.assign(new Error(answer.error.message), { name: answer.error.name }));
      else task.resolve(answer.output);
    });
    thread.worker.on('error', fail);
    thread.worker.on('exit', (code) => fail(new Error(`a pool thread exited (code ${code})`)));
    thread.worker.unref();
    this.threads.push(thread);
    return thread;
  }
}
