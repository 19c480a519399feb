import type { ResultLine } from './result-line.js';
import { isSuccess } from './result-line.js';

/** How many flagged or unclear items the Slack message names; the rest are counted. */
const EXAMPLES_KEPT = 5;

export interface ItemExample {
  item: string;
  /** The model's own answer: its reason for a flag, or the text that was neither yes nor no. */
  reason: string;
}

/** What a finished run amounts to: counted while its result lines stream past. */
export class RunSummary {
  succeeded = 0;
  failed = 0;
  readonly failuresByCode = new Map<string, number>();
  flagged = 0;
  /** The first few flagged items with the model's reason, for the Slack message. */
  readonly flaggedExamples: ItemExample[] = [];
  /**
   * Moderation answers that were neither yes nor no (`flagged: null`: a
   * refusal, "I cannot tell"). The request was answered, so it counts as
   * succeeded, but the image was not judged: models refuse most often on
   * exactly the explicit images a person needs to see.
   */
  unclear = 0;
  readonly unclearExamples: ItemExample[] = [];
  firstFailure: { code: string; message: string } | null = null;

  add(line: ResultLine): void {
    if (isSuccess(line)) {
      this.succeeded += 1;
      const output = line.output;
      if (output === null || !('flagged' in output)) return;
      if (output['flagged'] === true) {
        this.flagged += 1;
        keepExample(this.flaggedExamples, line);
      } else if (output['flagged'] === null) {
        this.unclear += 1;
        keepExample(this.unclearExamples, line);
      }
      return;
    }
    this.failed += 1;
    const code = line.error?.code ?? `http_${line.status_code ?? 'error'}`;
    this.failuresByCode.set(code, (this.failuresByCode.get(code) ?? 0) + 1);
    this.firstFailure ??= line.error ?? { code, message: 'request failed' };
  }

  get total(): number {
    return this.succeeded + this.failed;
  }
}

function keepExample(examples: ItemExample[], line: ResultLine): void {
  if (examples.length < EXAMPLES_KEPT) examples.push({ item: describeItem(line), reason: String(line.output?.['text'] ?? '') });
}

function describeItem(line: ResultLine): string {
  const item = line.item as { key?: unknown; id?: unknown } | null;
  if (typeof item?.key === 'string') return item.key;
  if (typeof item?.id === 'string' || typeof item?.id === 'number') return String(item.id);
  return line.custom_id;
}
