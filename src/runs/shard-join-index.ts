import type { RawJson } from './result-line.js';

interface RequestEntry {
  readonly item: RawJson | null;
  answered: boolean;
}

/**
 * What the results join knows of each request of a shard: the item it was
 * built from (read from the shard's manifest) and whether it has its result
 * line yet. One map for both, so a line of the output file costs one lookup
 * by custom_id instead of three (item, seen, mark seen): the lookups were a
 * fifth of the join's own work on a 50,000-line file.
 */
export class ShardJoinIndex {
  private readonly entries = new Map<string, RequestEntry>();
  /** Requests that have their result line (or go round again). */
  answered = 0;

  addItem(customId: string, item: RawJson): void {
    this.entries.set(customId, { item, answered: false });
  }

  /**
   * Marks the request answered and gives its item (null when the shard
   * has no manifest or does not list it); undefined when it was answered
   * already, so each request gets exactly one line.
   */
  claim(customId: string): { item: RawJson | null } | undefined {
    const entry = this.entries.get(customId);
    if (entry === undefined) {
      this.entries.set(customId, { item: null, answered: true });
      this.answered += 1;
      return { item: null };
    }
    if (entry.answered) return undefined;
    entry.answered = true;
    this.answered += 1;
    return entry;
  }
}
