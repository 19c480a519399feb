import { setFlagsFromString } from 'node:v8';

/**
 * How far a batchline process lets V8's old generation grow past what its
 * last full collection left live, in % of it (`BATCHLINE_HEAP_GROWTH_PERCENT`).
 *
 * Under V8's own rule a 2-GB-or-larger heap may grow to about 4× its live
 * size before the next full collection. A worker keeps little live (about
 * 20 MB), but a build leaves garbage that outlives the young generation at
 * every S3 read (the SDK's per-request objects, about 5 KB each): the old
 * generation of a worker building 10,000 S3 images went from 20 to 87 MB
 * before its first full collection, so its peak followed the length of the
 * run, not what it held (137 MB at 1,000 images, 181 MB at 10,000). Let grow
 * 20 %, it collects that garbage as it goes and peaks the same at any run
 * size, at no cost to the build's time (bench/RESULTS.md).
 *
 * The results join is the exception: it keeps its shard's index live and
 * parses much, and collected again and again it took about a quarter longer.
 * While a join runs, V8's own rule is back.
 *
 * V8 takes either change into account at the end of its next full
 * collection, so the process sets it before it loads the service's modules
 * (main.ts: only the configuration's check, to read it, comes first);
 * set later, the first limit (4× a small heap) still holds.
 */
export class HeapGrowth {
  private percent = 0;
  private liftsRunning = 0;

  constructor(private readonly setV8Flags: (flags: string) => void = setFlagsFromString) {}

  /** Sets the growth (`BATCHLINE_HEAP_GROWTH_PERCENT`; 0: V8's own rule, which is the flag's default). */
  setAtStart(percent: number): void {
    this.percent = percent;
    if (percent > 0) this.setV8Flags(`--heap-growing-percent=${percent}`);
  }

  /** Runs work under V8's own rule (a results join); overlapping ones share the lift, and the setting is back when the last ends, failed or not. */
  async liftedDuring<T>(work: () => Promise<T>): Promise<T> {
    // Never set (0, or a process that did not start through main.ts): nothing to lift.
    if (this.percent === 0) return work();
    if (this.liftsRunning++ === 0) this.setV8Flags('--heap-growing-percent=0');
    try {
      return await work();
    } finally {
      if (--this.liftsRunning === 0) this.setV8Flags(`--heap-growing-percent=${this.percent}`);
    }
  }
}

/** V8's flags are the process's: one account of them per process. */
export const processHeapGrowth = new HeapGrowth();

