import { RawJson } from './result-line.js';

/** What claimPosition gives for a request that has its line already. */
export const ANSWERED_BEFORE = -1;

/** The JSON text a request without an item gets as its item. */
const NULL_ITEM = Buffer.from('null');
/** An item's block number when the manifest does not list the request. */
const NO_ITEM = -1;
/** Items this short are copied byte by byte here rather than in a call into C++. */
const SHORT_ITEM = 64;

/**
 * What the results join knows of each request of a shard: the item it was
 * built from (read from the shard's manifest) and whether it has its result
 * line yet. A line of the output file costs one lookup by custom_id, to a
 * position in flat arrays.
 *
 * The items stay in the manifest's bytes, in the blocks they were read in,
 * and the index keeps only where each lies. As strings (each line decoded,
 * the item a slice of it) they were 100,000 objects per 50,000-request shard
 * on the job's thread, all living through the join, so moved into the old
 * generation for its collections to mark. Bytes are copied into result lines
 * as they are, never decoded.
 */
export class ShardJoinIndex {
  private readonly positions = new Map<string, number>();
  /** Bytes the items lie in, by block number. */
  private readonly blocks: Buffer[] = [];
  /** By position: the item's block number (NO_ITEM: none), and its start and end there. */
  private itemBlock = new Int32Array(1024);
  private itemStart = new Int32Array(1024);
  private itemEnd = new Int32Array(1024);
  /** By position: 1 once the request has its line. */
  private claimed = new Uint8Array(1024);
  private size = 0;
  /** Requests that have their result line (or go round again). */
  answered = 0;

  /** Keeps bytes that items added next lie in; the number to add them by. */
  addBlock(bytes: Buffer): number {
    this.blocks.push(bytes);
    return this.blocks.length - 1;
  }

  /** Lists a request of the shard with its item's JSON text at [start, end) of a block; listed again, the later item counts. */
  addItem(customId: string, block: number, start: number, end: number): void {
    const position = this.positions.get(customId) ?? this.newPosition(customId);
    this.itemBlock[position] = block;
    this.itemStart[position] = start;
    this.itemEnd[position] = end;
  }

  /** As addItem, the item given as its JSON text. */
  addItemText(customId: string, itemJson: string): void {
    const bytes = Buffer.from(itemJson);
    this.addItem(customId, this.addBlock(bytes), 0, bytes.length);
  }

  /**
   * Marks the request answered and gives its position, to write its item
   * from; ANSWERED_BEFORE when it was answered already, so each request gets
   * exactly one line. An id the manifest does not list gets a position too,
   * with no item.
   */
  claimPosition(customId: string): number {
    const position = this.positions.get(customId) ?? this.newPosition(customId);
    if (this.claimed[position] === 1) return ANSWERED_BEFORE;
    this.claimed[position] = 1;
    this.answered += 1;
    return position;
  }

  /** As claimPosition, with the item as stored JSON (null when the manifest does not list it); undefined when answered already. */
  claim(customId: string): RawJson | null | undefined {
    const position = this.claimPosition(customId);
    if (position === ANSWERED_BEFORE) return undefined;
    const block = this.itemBlock[position] as number;
    if (block === NO_ITEM) return null;
    return new RawJson((this.blocks[block] as Buffer).toString('utf8', this.itemStart[position], this.itemEnd[position]));
  }

  itemByteLength(position: number): number {
    return this.itemBlock[position] === NO_ITEM ? NULL_ITEM.length : (this.itemEnd[position] as number) - (this.itemStart[position] as number);
  }

  /** Writes the item's JSON bytes ("null" for none) at `offset`. */
  writeItem(position: number, target: Buffer, offset: number): void {
    const block = this.itemBlock[position] as number;
    if (block === NO_ITEM) target.set(NULL_ITEM, offset);
    else copyBytes(this.blocks[block] as Buffer, this.itemStart[position] as number, this.itemEnd[position] as number, target, offset);
  }

  private newPosition(customId: string): number {
    const position = this.size;
    if (position === this.itemBlock.length) this.grow();
    this.positions.set(customId, position);
    this.itemBlock[position] = NO_ITEM;
    this.size += 1;
    return position;
  }

  private grow(): void {
    const larger = <T extends Int32Array | Uint8Array>(array: T, make: (length: number) => T): T => {
      const next = make(array.length * 2);
      next.set(array);
      return next;
    };
    this.itemBlock = larger(this.itemBlock, (length) => new Int32Array(length));
    this.itemStart = larger(this.itemStart, (length) => new Int32Array(length));
    this.itemEnd = larger(this.itemEnd, (length) => new Int32Array(length));
    this.claimed = larger(this.claimed, (length) => new Uint8Array(length));
  }
}

/** Copies source[start, end) to target at offset; a short run byte by byte here rather than in a call into C++. */
function copyBytes(source: Buffer, start: number, end: number, target: Buffer, offset: number): void {
  if (end - start > SHORT_ITEM) {
    source.copy(target, offset, start, end);
    return;
  }
  for (let at = start; at < end; at += 1) target[offset + at - start] = source[at] as number;
}
