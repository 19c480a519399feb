import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { failureFor, type BatchPlan } from './batch-fault-plan.js';
import { derivedId } from './emulator-ids.js';
import type { AcceptedScan } from './input-scan.js';
import { generateResponse, resultRequestId } from './response-generators.js';

/**
 * Writes a terminal batch's output and error files in OpenAI's line format,
 * in a shuffled order. The input is read back one line at a time from the
 * offsets the scan recorded, and both files are written with backpressure, so
 * memory stays flat whatever the file size.
 */
export interface ResultFilesInput {
  inputPath: string;
  scan: AcceptedScan;
  /** The order requests are processed (and written) in. */
  order: Uint32Array;
  /** How many requests (in `order`) were processed before the batch ended. */
  doneCount: number;
  /** The error code of the requests not processed (expired or cancelled batches). */
  unfinishedCode: 'batch_expired' | 'batch_cancelled';
  endpoint: string;
  plan: BatchPlan;
  seed: number;
  batchSequence: number;
  batchId: string;
  /** Unix seconds, stamped in the generated bodies. */
  createdAt: number;
  outputPath: string;
  errorPath: string;
}

export interface ResultFilesSummary {
  outputLines: number;
  errorLines: number;
  inputTokens: number;
  outputTokens: number;
}

const UNFINISHED_MESSAGES = {
  batch_expired: 'This request could not be executed before the completion window expired.',
  batch_cancelled: 'This request was not executed because the batch was cancelled.',
} as const;

async function writeLine(stream: WriteStream, line: string): Promise<void> {
  if (!stream.write(line)) await once(stream, 'drain');
}

async function endStream(stream: WriteStream): Promise<void> {
  stream.end();
  await once(stream, 'finish');
}

export async function writeResultFiles(input: ResultFilesInput): Promise<ResultFilesSummary> {
  const { scan, order } = input;
  const summary: ResultFilesSummary = { outputLines: 0, errorLines: 0, inputTokens: 0, outputTokens: 0 };
  const handle = await open(input.inputPath, 'r');
  const output = createWriteStream(input.outputPath, { highWaterMark: 256 * 1024 });
  const errors = createWriteStream(input.errorPath, { highWaterMark: 256 * 1024 });
  let buffer = Buffer.alloc(64 * 1024);
  try {
    for (let k = 0; k < order.length; k++) {
      const index = order[k] as number;
      const length = scan.lengths[index] as number;
      if (buffer.length < length) buffer = Buffer.alloc(length * 2);
      await handle.read(buffer, 0, length, scan.offsets[index] as number);
      // The scan accepted this line, so it is an object with a string custom_id and an object body.
      const request = JSON.parse(buffer.toString('utf8', 0, length)) as { custom_id: string; body: Record<string, unknown> };
      const customId = request.custom_id;
      const key = `${input.batchId}\u0000${customId}`;
      const id = derivedId('batch_req_', key);

      if (k >= input.doneCount) {
        const code = input.unfinishedCode;
        await writeLine(errors, `${JSON.stringify({ id, custom_id: customId, response: null, error: { code, message: UNFINISHED_MESSAGES[code] } })}\n`);
        summary.errorLines++;
        continue;
      }
      if (scan.failing[index] === 1) {
        const failure = failureFor(input.plan, input.seed, input.batchSequence, customId);
        const line =
          failure.shape === 'error'
            ? { id, custom_id: customId, response: null, error: { code: failure.code, message: failure.message } }
            : {
                id,
                custom_id: customId,
                response: { status_code: failure.statusCode, request_id: resultRequestId(key), body: { error: failure.error } },
                error: null,
              };
        await writeLine(errors, `${JSON.stringify(line)}\n`);
        summary.errorLines++;
        continue;
      }
      const generated = generateResponse(input.endpoint, request.body, { key, createdAt: input.createdAt });
      summary.inputTokens += generated.inputTokens;
      summary.outputTokens += generated.outputTokens;
      const line = { id, custom_id: customId, response: { status_code: 200, request_id: resultRequestId(key), body: generated.body }, error: null };
      await writeLine(output, `${JSON.stringify(line)}\n`);
      summary.outputLines++;
    }
  } finally {
    await handle.close();
    await Promise.all([endStream(output), endStream(errors)]);
  }
  return summary;
}
