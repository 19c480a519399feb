import type { z } from 'zod';
import { formatZodError } from '../lib/format-zod-error.js';

/**
 * The querystring check of a route that validates its body itself (a raw
 * stream, a signed body), worded as the type provider words every other
 * route's: `querystring: unknown field "x"`.
 */
export const queryValidator =
  (schema: z.ZodType) =>
  (data: unknown): { value: unknown } | { error: Error } => {
    const parsed = schema.safeParse(data);
    return parsed.success ? { value: parsed.data } : { error: new Error(formatZodError(parsed.error, 'querystring')) };
  };
