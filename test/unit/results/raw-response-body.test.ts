import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rawResponseBody, type BatchOutputLine } from '../../../src/runs/raw-response-body.js';
import { encodedResultLine, encodeResultLine, errorResultLine, RawJson, type ResultLine } from '../../../src/runs/result-line.js';

const sliceOf = (raw: string): string | null => {
  const span = rawResponseBody(raw, JSON.parse(raw) as BatchOutputLine);
  return span === null ? null : raw.slice(span.start, span.end);
};

/** The bytes an EncodedLine writes, into a buffer with room on both sides (a line lands mid-chunk). */
const bytesOf = (line: ReturnType<typeof encodedResultLine>): string => {
  const target = Buffer.alloc(line.byteLength + 20, 0x2a);
  line.writeTo(target, 10);
  assert.equal(target.subarray(0, 10).toString(), '*'.repeat(10), 'nothing written before the offset');
  assert.equal(target.subarray(10 + line.byteLength).toString(), '*'.repeat(10), 'nothing written past byteLength');
  return target.subarray(10, 10 + line.byteLength).toString();
};

const body = { id: 'chatcmpl-1', choices: [{ index: 0, message: { role: 'assistant', content: 'No. "body": {} is just text } here' } }], usage: { total_tokens: 3 } };

describe('rawResponseBody', () => {
  test('returns exactly the body text of a compact line (JSON.stringify output)', () => {
    const raw = JSON.stringify({ id: 'batch_req_1', custom_id: 'c-1', response: { status_code: 200, request_id: 'req_1', body }, error: null });
    assert.equal(sliceOf(raw), JSON.stringify(body));
  });

  test('returns exactly the body text of a line with spaces after separators (Python json.dumps style)', () => {
    const spaced = JSON.stringify(body).replaceAll('":', '": ').replaceAll(',"', ', "');
    const raw = `{"id": "batch_req_1", "custom_id": "c-1", "response": {"status_code": 200, "request_id": "req_1", "body": ${spaced}}, "error": null}`;
    const slice = sliceOf(raw);
    assert.equal(slice, spaced);
    assert.deepEqual(JSON.parse(slice ?? 'null'), JSON.parse(spaced));
  });

  test('is not fooled by values that read "response" or "body"', () => {
    const raw = JSON.stringify({ id: 'response', custom_id: 'body', response: { status_code: 200, request_id: 'body', body }, error: null });
    assert.equal(sliceOf(raw), JSON.stringify(body));
  });

  test('a line with an escape before the body is not sliced: a key might be written escaped, or hold a quote', () => {
    const escapedKey = `{"id":"a","custom_id":"c","response":{"status_code":200,"bo\\u0064y":{"body":{"x":1}}},"error":null}`;
    assert.deepEqual(JSON.parse(escapedKey).response.body, { body: { x: 1 } }, 'the escaped key is body');
    const quotedKeys = JSON.stringify({ 'k"response': 1, custom_id: 'x"response":{"body":1}', response: { status_code: 200, 'k"body': 2, body }, error: null });
    for (const raw of [escapedKey, quotedKeys]) assert.equal(sliceOf(raw), null, raw);
  });

  test('a body that is not the last key of response, a non-null error, or an object before response: null (the caller serializes)', () => {
    const notLast = JSON.stringify({ id: 'a', custom_id: 'c', response: { status_code: 200, body, request_id: 'r' }, error: null });
    const withError = JSON.stringify({ id: 'a', custom_id: 'c', response: { status_code: 500, request_id: 'r', body }, error: { code: 'x', message: 'y' } });
    const objectBefore = JSON.stringify({ id: 'a', meta: { body: { fake: true } }, custom_id: 'c', response: { status_code: 200, request_id: 'r', body }, error: null });
    const nestedBefore = JSON.stringify({ id: 'a', custom_id: 'c', response: { status_code: 200, headers: { body: 1 }, body }, error: null });
    const errorNotLast = JSON.stringify({ id: 'a', custom_id: 'c', error: null, response: { status_code: 200, request_id: 'r', body } });
    // An integer-like key after body: Object.keys lists it first, so body looks last while the text goes on.
    const indexKeyAfterBody = `{"id":"a","custom_id":"c","response":{"status_code":200,"request_id":"r","body":${JSON.stringify(body)},"7":1},"error":null}`;
    for (const raw of [notLast, withError, objectBefore, nestedBefore, errorNotLast, indexKeyAfterBody]) assert.equal(sliceOf(raw), null, raw);
  });

  test('whitespace around the body and between the closing tokens is not part of the slice', () => {
    const raw = `{"custom_id":"c","response":{"status_code":200,"body":  {"a":1}\t } ,\r\n "error" :  null }  `;
    assert.equal(sliceOf(raw), '{"a":1}');
  });

  test('a line that does not end with error null after response: null, whatever is cut off', () => {
    const whole = JSON.stringify({ custom_id: 'c', response: { status_code: 200, body }, error: null });
    for (const raw of [whole.replace(/null\}$/, 'nul}'), whole.replace(/,"error":null\}$/, ',"error":null,"x":1}')]) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        continue;
      }
      const span = rawResponseBody(raw, parsed as BatchOutputLine);
      assert.equal(span, null, raw);
    }
  });

  test('an error line without a response: null', () => {
    assert.equal(sliceOf(JSON.stringify({ id: 'a', custom_id: 'c', response: null, error: { code: 'batch_expired', message: 'm' } })), null);
  });
});

describe('encodeResultLine', () => {
  test('gives the bytes JSON.stringify gives for the same line', () => {
    const success: ResultLine = { custom_id: 'c-1', item: { key: 'images/ü.png' }, status_code: 200, output: { text: 'No. "quoted"\n', flagged: false }, response: body, error: null };
    const failure = errorResultLine('c-2', null, { code: 'batch_expired', message: 'the batch expired' });
    for (const line of [success, failure]) assert.equal(encodeResultLine(line), JSON.stringify(line));
  });

  test('an item kept as its stored JSON text is written as that text, and JSON.stringify of the line agrees', () => {
    const item = { key: 'images/ü "1".png', tags: ['a', 1, null] };
    const line: ResultLine = { custom_id: 'c-1', item: new RawJson(JSON.stringify(item)), status_code: 200, output: { text: 'No.' }, response: body, error: null };
    assert.equal(encodeResultLine(line), JSON.stringify({ ...line, item }));
    assert.equal(JSON.stringify(line), JSON.stringify({ ...line, item }));
  });
});

describe('encodedResultLine', () => {
  test('writes exactly encodeResultLine plus a newline, at any offset', () => {
    const line: ResultLine = { custom_id: 'c-1', item: new RawJson('{"id":7}'), status_code: 200, output: { text: 'Ünïcödé ☕ "q"' }, response: body, error: null };
    assert.equal(bytesOf(encodedResultLine(line)), `${JSON.stringify({ ...line, item: { id: 7 } })}\n`);
  });
});
