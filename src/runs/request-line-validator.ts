import { z } from 'zod';
import { badRequest } from '../lib/api-error.js';
import { formatPath, formatZodError } from '../lib/format-zod-error.js';
import type { RequestNaming } from './request-naming.js';

/** A batch request line as OpenAI's input file takes it. */
export const requestLineSchema = z.strictObject({
  custom_id: z.string().min(1).max(512),
  method: z.literal('POST'),
  url: z.string().min(1),
  body: z.looseObject({ model: z.string().min(1) }),
});
export type RequestLine = z.infer<typeof requestLineSchema>;

/**
 * Checks raw request lines one at a time, as they arrive, against what
 * OpenAI's validation would reject later — a malformed line, a duplicate
 * custom_id, a url other than the run's endpoint, a second model — so a run
 * is refused up front with the line named instead of failing hours later.
 */
export class RequestLineValidator {
  /** Each custom_id seen, with the place of the request that had it first. */
  private readonly customIds = new Map<string, number>();
  private model: string | null = null;
  count = 0;

  /** `naming` names a request and its fields by place, as the caller numbers them (see RequestNaming). */
  constructor(
    private readonly endpoint: string,
    private readonly naming: RequestNaming,
  ) {}

  /** Validates one line (already JSON-parsed) found at `place`, which errors name through `naming` (only then: a large upload has hundreds of thousands of lines). */
  check(value: unknown, place: number): RequestLine {
    const parsed = requestLineSchema.safeParse(value);
    if (!parsed.success) {
      const nameOf = (path: ReadonlyArray<PropertyKey>): string => (path.length === 0 ? this.naming.request(place) : this.naming.field(place, formatPath(path)));
      throw badRequest('invalid_request_line', formatZodError(parsed.error, '', nameOf));
    }
    const line = parsed.data;
    if (line.url !== this.endpoint) {
      throw badRequest('endpoint_mismatch', `${this.naming.field(place, 'url')} is "${line.url}" but the run's endpoint is "${this.endpoint}"`);
    }
    const earlier = this.customIds.get(line.custom_id);
    if (earlier !== undefined) {
      throw badRequest('duplicate_custom_id', `${this.naming.field(place, 'custom_id')} "${line.custom_id}" repeats ${this.naming.request(earlier)}'s; custom_id must be unique within a run`);
    }
    this.customIds.set(line.custom_id, place);
    if (this.model === null) this.model = line.body.model;
    else if (line.body.model !== this.model) {
      throw badRequest('multiple_models', `${this.naming.field(place, 'body.model')} is "${line.body.model}" but earlier requests use "${this.model}"; a run's requests must use one model`);
    }
    this.count += 1;
    return line;
  }

  get runModel(): string | null {
    return this.model;
  }
}
