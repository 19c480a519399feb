import { z } from 'zod';

/**
 * The querystring of a route that takes no query parameters: strict, so a
 * misspelt or misplaced parameter (`?limit=` on one run, `?force=1` on a
 * delete) is a 400 naming it, worded as on routes that take some, instead of
 * a 200 that silently ignored it.
 */
export const emptyQuerySchema = z.strictObject({});
