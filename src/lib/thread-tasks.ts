import { parentPort, type TransferListItem } from 'node:worker_threads';

/** A task sent to a thread of a ThreadPool, and its answer. */
export interface ThreadTask<Input> {
  id: number;
  input: Input;
}
export type ThreadAnswer<Output> = { id: number; output: Output } | { id: number; error: { name: string; message: string } };

/** What a task's handler gives back: the answer, and the buffers to move to the pool's thread instead of copying them. */
export interface HandledTask<Output> {
  output: Output;
  transfer: TransferListItem[];
}

/**
 * Runs in a pool's thread: answers each task with the handler's output, or
 * with the error it threw (its name and message; the stack stays here), so
 * the caller's promise settles either way and the thread lives on.
 */
export function serveThreadTasks<Input, Output>(handle: (input: Input) => HandledTask<Output>): void {
  const port = parentPort;
  if (port === null) throw new Error('serveThreadTasks runs in a worker thread');
  port.on('message', (task: ThreadTask<Input>) => {
    let answer: ThreadAnswer<Output>;
    let transfer: TransferListItem[] = [];
    try {
      const handled = handle(task.input);
      answer = { id: task.id, output: handled.output };
      transfer = handled.transfer;
    } catch (error) {
      answer = { id: task.id, error: error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) } };
    }
    port.postMessage(answer, transfer);
  });
}
