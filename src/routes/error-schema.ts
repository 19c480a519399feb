import { z } from 'zod';

/** Every error the API answers: `{ error: { code, message } }`. */
export const errorResponseSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) }).describe('Error');

export const errorResponses = {
  400: errorResponseSchema,
  401: errorResponseSchema,
  404: errorResponseSchema,
  409: errorResponseSchema,
  413: errorResponseSchema,
  415: errorResponseSchema,
  429: errorResponseSchema,
  503: errorResponseSchema,
};
