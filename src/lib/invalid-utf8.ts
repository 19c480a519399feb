/**
 * The byte offset of the first byte that is not part of valid UTF-8 in
 * `bytes`, which the caller already found invalid (Buffer's isUtf8, one
 * native pass). Only for the failure path: it decodes with replacement and
 * looks for the first U+FFFD that the input did not spell out itself as
 * EF BF BD. Up to there every byte decoded as it is, so the UTF-8 length of
 * the text before it is its offset in `bytes`.
 */
export function firstInvalidUtf8Offset(bytes: Buffer): number {
  const text = bytes.toString('utf8');
  for (let index = text.indexOf('\uFFFD'); index !== -1; index = text.indexOf('\uFFFD', index + 1)) {
    const offset = Buffer.byteLength(text.slice(0, index));
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
  }
  return bytes.length;
}
