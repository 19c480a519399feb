import { threadId } from 'node:worker_threads';
import { serveThreadTasks } from '../../src/lib/thread-tasks.js';

/** What the thread-pool tests ask of a thread. */
export type TestThreadTask = { kind: 'double'; values: Float64Array<ArrayBuffer> } | { kind: 'throw' } | { kind: 'exit' } | { kind: 'hold'; ms: number };

// A pool thread for the thread-pool tests: answers, throws, or dies on request.
serveThreadTasks<TestThreadTask, { values: Float64Array<ArrayBuffer> | null; threadId: number }>((task) => {
  switch (task.kind) {
    case 'double': {
      const values = task.values.map((value) => value * 2);
      return { output: { values, threadId: threadId }, transfer: [values.buffer] };
    }
    case 'throw':
      JSON.parse('{not json');
      return { output: { values: null, threadId: threadId }, transfer: [] };
    case 'exit':
      process.exit(3);
    case 'hold': {
      // Busy for a while, so tasks queue up behind it.
      const until = Date.now() + task.ms;
      while (Date.now() < until);
      return { output: { values: null, threadId: threadId }, transfer: [] };
    }
  }
});
