import type { ResultLine } from './result-line.js';
import { isSuccess } from './result-line.js';

/** What a finished run amounts to: counted while its result lines stream past. */
export class RunSummary {
  succeeded = 0;
  failed = 0;
  readonly failuresByCode = new Map<string, number>();
  flagged = 0;
  /** The first few flagged items with the model's reason, for the Slack message. */
  readonly flaggedExamples: Array<{ item: string; reason: string }> = [];
  firstFailure: { code: string; message: string } | null = null;

  add(line: ResultLine): void {
    if (isSuccess(line)) {
      this.succeeded += 1;
      if (line.output?.['flagged'] === true) {
        this.flagged += 1;
        if (this.flaggedExamples.length < 5) this.flaggedExamples.push({ item: describeItem(line), reason: String(line.output['text'] ?? '') });
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

function describeItem(line: ResultLine): string {
  const item = line.item as { key?: unknown; id?: unknown } | null;
  if (typeof item?.key === 'string') return item.key;
  if (typeof item?.id === 'string' || typeof item?.id === 'number') return String(item.id);
  return line.custom_id;
}
