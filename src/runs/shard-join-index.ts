import { RawJson } from './result-line.js';

/**
 * What the results join knows of each request of a shard: the item it was
 * built from (read from the shard's manifest) and whether it has its result
 * line yet. A line of the output file costs one lookup by custom_id, to a
 * position in flat arrays, instead of three lookups (item, seen, mark seen)
 * or an object per request to follow: the lookups were the largest part of
 * the join's own work on a 50,000-line file after the JSON parse.
 */
export class ShardJoinIndex {
  private readonly positions = new Map<string, number>();
  /** The item's JSON text as stored, by position; null for a request the manifest does not list. */
  private readonly itemTexts: Array<string | null> = [];
  /** 1 at a position whose request has its line, by position. */
  private readonly claimed: number[] = [];
  /** Requests that have their result line (or go round again). */
  answered = 0;

  /** Lists a request of the shard with its item's JSON text (as the manifest stored it). */
  addItem(customId: string, itemJson: string): void {
    const known = this.positions.get(customId);
    if (known !== undefined) {
      this.itemTexts[known] = itemJson;
      return;
    }
    this.positions.set(customId, this.itemTexts.length);
    this.itemTexts.push(itemJson);
    this.claimed.push(0);
  }

  /**
   * Marks the request answered and gives its item (null when the shard has
   * no manifest or does not list it); undefined when it was answered
   * already, so each request gets exactly one line.
   */
  claim(customId: string): RawJson | null | undefined {
    const text = this.claimItemJson(customId);
    return text === undefined ? undefined : text === null ? null : new RawJson(text);
  }

  /** As claim, with the item as its JSON text. */
  claimItemJson(customId: string): string | null | undefined {
    let position = this.positions.get(customId);
    if (position === undefined) {
      position = this.itemTexts.length;
      this.positions.set(customId, position);
      this.itemTexts.push(null);
      this.claimed.push(0);
    }
    if (this.claimed[position] === 1) return undefined;
    this.claimed[position] = 1;
    this.answered += 1;
    return this.itemTexts[position] ?? null;
  }
}
