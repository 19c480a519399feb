import type { CreatedBatchInfo, EmulatorFaults, EmulatorOperation } from './emulator-options.js';
import { rateLimited, serverError, type OpenAIHttpError } from './openai-error.js';

/**
 * API-level faults (the request never reaches the handler): 429s with a
 * retry-after, 500s and latency, read from the live faults object on every
 * request so tests can switch them between steps.
 */
export class ApiFaults {
  private counted = 0;

  constructor(private readonly faults: EmulatorFaults) {}

  private applies(operation: EmulatorOperation): boolean {
    return this.faults.operations === null || this.faults.operations.includes(operation);
  }

  latencyFor(operation: EmulatorOperation): number {
    return this.applies(operation) ? this.faults.latencyMs : 0;
  }

  /** The error this request gets instead of an answer, if any. One-shot counts go first, then the periodic ones. */
  errorFor(operation: EmulatorOperation): OpenAIHttpError | null {
    if (!this.applies(operation)) return null;
    const faults = this.faults;
    const n = ++this.counted;
    if (faults.serverErrorNext > 0) {
      faults.serverErrorNext--;
      return serverError();
    }
    if (faults.rateLimitNext > 0) {
      faults.rateLimitNext--;
      return rateLimited(faults.retryAfterSeconds);
    }
    if (faults.serverErrorEvery > 0 && n % faults.serverErrorEvery === 0) return serverError();
    if (faults.rateLimitEvery > 0 && n % faults.rateLimitEvery === 0) return rateLimited(faults.retryAfterSeconds);
    return null;
  }

  /** Whether the response to this (already created) batch is to be lost. */
  dropCreateResponse(batch: CreatedBatchInfo): boolean {
    const drop = this.faults.dropCreateResponse;
    if (typeof drop === 'function') return drop(batch);
    if (drop > 0) {
      this.faults.dropCreateResponse = drop - 1;
      return true;
    }
    return false;
  }
}
