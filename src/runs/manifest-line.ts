import { forEachLineOf } from '../lib/jsonl.js';
import type { ShardJoinIndex } from './shard-join-index.js';

/**
 * A line of a shard's manifest: which item a custom_id was built from, as
 * `JSON.stringify({ custom_id, item })` gives it. Written by the build, read
 * by the results join for every request of the shard.
 */
export const encodeManifestLine = (customId: string, item: unknown): string => JSON.stringify({ custom_id: customId, item });

const PREFIX = '{"custom_id":"';
const ITEM_KEY = ',"item":';

/**
 * The custom_id and the item's JSON text of a manifest line. The item is
 * cut out of the line as it was serialized rather than parsed: the join
 * only writes it into a result line, and parsing 50,000 items to serialize
 * them again was a tenth of its time. A line this code did not write in that
 * exact shape (an id holding an escape, an item absent) is parsed instead.
 */
export function decodeManifestLine(raw: string): { customId: string; itemJson: string } {
  const close = raw.startsWith(PREFIX) && raw.endsWith('}') ? raw.indexOf('"', PREFIX.length) : -1;
  if (close !== -1 && raw.startsWith(ITEM_KEY, close + 1)) {
    const customId = raw.slice(PREFIX.length, close);
    // Without a backslash the id's JSON text is the id itself (JSON.stringify escapes quotes and control characters).
    if (!customId.includes('\\')) return { customId, itemJson: raw.slice(close + 1 + ITEM_KEY.length, -1) };
  }
  const entry = JSON.parse(raw) as { custom_id: string; item?: unknown };
  return { customId: entry.custom_id, itemJson: JSON.stringify(entry.item) ?? 'null' };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const CLOSE_BRACE = 0x7d;
const PREFIX_BYTES = Buffer.from(PREFIX);
const ITEM_KEY_BYTES = Buffer.from(ITEM_KEY);

/**
 * Lists each line of a block of a manifest's bytes (whole lines, "\n"- or
 * "\r\n"-ended, the last maybe unended) in the join index. A line in the
 * shape encodeManifestLine writes is read in place: its id decoded, its item
 * left in the block for the index to point at. Any other line goes through
 * decodeManifestLine; blank lines are skipped.
 */
export function indexManifestBlock(index: ShardJoinIndex, bytes: Buffer): void {
  const block = index.addBlock(bytes);
  forEachLineOf(bytes, (start, end) => {
    const close = end - start > PREFIX_BYTES.length && bytes[end - 1] === CLOSE_BRACE ? idClose(bytes, start, end) : -1;
    const itemStart = close + 1 + ITEM_KEY_BYTES.length;
    if (close !== -1 && itemStart < end - 1 && ITEM_KEY_BYTES.compare(bytes, close + 1, itemStart) === 0) {
      index.addItem(bytes.toString('utf8', start + PREFIX_BYTES.length, close), block, itemStart, end - 1);
      return;
    }
    const { customId, itemJson } = decodeManifestLine(bytes.toString('utf8', start, end));
    index.addItemText(customId, itemJson);
  });
}

/** Where the custom_id of a line starting `{"custom_id":"` closes; -1 when the line does not, or the id holds an escape. */
function idClose(bytes: Buffer, start: number, end: number): number {
  if (PREFIX_BYTES.compare(bytes, start, start + PREFIX_BYTES.length) !== 0) return -1;
  for (let at = start + PREFIX_BYTES.length; at < end; at += 1) {
    const byte = bytes[at];
    if (byte === QUOTE) return at;
    if (byte === BACKSLASH) return -1;
  }
  return -1;
}
