import { serveThreadTasks } from '../lib/thread-tasks.js';
import { encodeOutputBlock, type EncodedOutputBlock, type OutputBlockTask } from './output-block.js';

// A join thread: encodes blocks of output files and hands the bytes back without a copy.
serveThreadTasks<OutputBlockTask, EncodedOutputBlock>(({ block, reading }) => {
  const encoded = encodeOutputBlock(block, reading);
  return { output: encoded, transfer: [encoded.bytes.buffer, encoded.bounds.buffer, encoded.outcomes.buffer] };
});
