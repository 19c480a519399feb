import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeOutputBlock, OUTCOME_SUCCEEDED, OUTCOME_TRANSIENT, SplicedResultLines } from '../../../src/runs/output-block.js';
import { resultOfOutputLine } from '../../../src/runs/output-line-result.js';
import type { OutputReading } from '../../../src/runs/parse-output-for-run.js';
import type { BatchOutputLine } from '../../../src/runs/raw-response-body.js';
import { RawJson, encodeResultLine } from '../../../src/runs/result-line.js';
import { ShardJoinIndex } from '../../../src/runs/shard-join-index.js';

const reading: OutputReading = { template: { type: 'image-moderation', model: 'gpt-4o-mini' } as OutputReading['template'], endpoint: '/v1/chat/completions' };
const answer = (content: string) => ({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content } }], usage: { total_tokens: 9 } });
const outputLine = (customId: string, statusCode: number, body: unknown, error: unknown = null): string =>
  JSON.stringify({ id: `batch_req_${customId}`, custom_id: customId, response: { status_code: statusCode, request_id: 'req_1', body }, error });

/** Each line's item: short ASCII JSON mostly, one not ASCII, one long (the splice's two ways of writing it). */
const itemOf = (customId: string): string =>
  JSON.stringify(customId === 'c-2' ? { id: `item-${customId}`, name: 'café ☕' } : customId === 'c-3' ? { id: `item-${customId}`, notes: 'n'.repeat(100) } : { id: `item-${customId}` });

/** The whole result lines of an encoded block, each given itemOf(custom_id) as its item. */
function joined(block: ReturnType<typeof encodeOutputBlock>): string[] {
  // Each item listed in the join index, as the manifest would list it.
  const index = new ShardJoinIndex();
  for (const customId of block.customIds) if (customId !== null) index.addItemText(customId, itemOf(customId));
  const lines = new SplicedResultLines(block, index);
  return block.customIds.map((customId, k) => {
    // A line without a custom_id is never joined (nothing to claim); its span must be empty.
    if (customId === null) return block.bytes.subarray(k === 0 ? 0 : block.bounds[2 * k - 1], block.bounds[2 * k + 1]).toString();
    const line = lines.line(k, index.claimPosition(customId));
    const target = Buffer.alloc(line.byteLength + 8, 0x2a);
    line.writeTo(target, 4);
    assert.equal(target.subarray(0, 4).toString() + target.subarray(4 + line.byteLength).toString(), '********', 'writes exactly its byteLength');
    return target.subarray(4, 4 + line.byteLength).toString('utf8');
  });
}

/** What the join wrote for the line before blocks: the result line, serialized whole. */
const expected = (raw: string): string => {
  const line = JSON.parse(raw) as BatchOutputLine;
  return `${encodeResultLine(resultOfOutputLine(reading, line, new RawJson(itemOf(String(line.custom_id)))))}\n`;
};

describe('encodeOutputBlock + SplicedResultLines', () => {
  const lines = [
    outputLine('c-1', 200, answer('Yes. It shows "explicit" content } here')),
    outputLine('c-2', 200, answer('No — nothing explicit: 安全 ☕')),
    outputLine('c-3', 500, { error: { code: 'server_error', message: 'try again' } }),
    outputLine('c-4', 400, { error: { code: 'invalid_request', message: 'bad image' } }),
    JSON.stringify({ id: 'batch_req_5', custom_id: 'c-5', response: null, error: { code: 'batch_expired', message: 'expired' } }),
    // Python's json.dumps spacing: the body is still sliced as it stands.
    `{"id": "batch_req_6", "custom_id": "c-6", "response": {"status_code": 200, "request_id": "r", "body": ${JSON.stringify(answer('No.'))}}, "error": null}`,
  ];

  it('gives each line the bytes the whole-line encoding gives, item spliced in', () => {
    const block = encodeOutputBlock(Buffer.from(`${lines.join('\n')}\n`), reading);
    assert.deepEqual(block.customIds, ['c-1', 'c-2', 'c-3', 'c-4', 'c-5', 'c-6']);
    assert.deepEqual(joined(block), lines.map(expected));
    const parsed = joined(block).map((text) => JSON.parse(text) as { output: { flagged?: boolean } | null; item: unknown });
    assert.equal(parsed[0]?.output?.flagged, true);
    assert.equal(parsed[1]?.output?.flagged, false);
    assert.deepEqual(parsed[1]?.item, { id: 'item-c-2', name: 'café ☕' });
    assert.deepEqual(parsed[2]?.item, { id: 'item-c-3', notes: 'n'.repeat(100) });
  });

  it('says per line whether it succeeded and whether a retry could fix it', () => {
    const block = encodeOutputBlock(Buffer.from(lines.join('\n')), reading);
    assert.deepEqual([...block.outcomes], [OUTCOME_SUCCEEDED, OUTCOME_SUCCEEDED, OUTCOME_TRANSIENT, 0, OUTCOME_TRANSIENT, OUTCOME_SUCCEEDED]);
  });

  it('skips blank lines, ends lines at "\\r\\n", takes a last line without its newline, and keeps a line without a custom_id as null', () => {
    const text = `\n${lines[0]}\r\n   \r\n{"id":"x","custom_id":7,"response":null,"error":null}\n\t\n${lines[1]}`;
    const block = encodeOutputBlock(Buffer.from(text), reading);
    assert.deepEqual(block.customIds, ['c-1', null, 'c-2']);
    const [first, none, last] = joined(block);
    assert.equal(first, expected(lines[0] as string));
    assert.equal(none, '', 'nothing written for a line that cannot be joined');
    assert.equal(last, expected(lines[1] as string));
  });

  it('reads a block that is a view into a larger buffer', () => {
    const backing = Buffer.from(`garbage${lines[0]}\nmore`);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 7, Buffer.byteLength(lines[0] as string) + 1);
    assert.deepEqual(joined(encodeOutputBlock(view, reading)), [expected(lines[0] as string)]);
  });

  it('grows its output past the first guess (answers far longer than their lines are impossible, escapes are not)', () => {
    // Each "\u0001" in the body is 6 bytes of input and comes back as 6 in the body and 6 in output.text.
    const raw = outputLine('c-9', 200, answer('\u0001'.repeat(40_000)));
    assert.deepEqual(joined(encodeOutputBlock(Buffer.from(raw), reading)), [expected(raw)]);
  });

  it('throws on a line that is not JSON, as the join did', () => {
    assert.throws(() => encodeOutputBlock(Buffer.from(`${lines[0]}\n{"custom_id": "c-2", trunc`), reading), SyntaxError);
  });
});
