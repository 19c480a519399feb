import { z } from 'zod';

/** The image formats the vision models accept: the suffixes an image-moderation source lists. */
export const IMAGE_SUFFIXES: readonly string[] = ['.png', '.jpg', '.jpeg', '.gif', '.webp'];

/** Matched case-insensitively against the end of each key (".png" also matches "CAT.PNG"). */
const suffixes = z.array(z.string().min(1)).min(1);
/** Objects larger than this are skipped (a model's image or context limit, a cost guard). */
const maxObjectBytes = z.number().int().positive();
/** Applied by the collector: at most this many new items go into one run; the rest wait for the next. */
const maxItemsPerRun = z.number().int().positive();

export const s3SourceDefinitionSchema = z
  .object({
    type: z.literal('s3'),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)'),
    /** A key prefix, taken literally: "images/" lists a folder, "images/2024-" a name range. */
    prefix: z.string().optional(),
    suffixes: suffixes.optional(),
    /**
     * MIME types ("image/png", or "image/*"). S3 listings carry no content type,
     * so setting this costs one HeadObject per listed candidate.
     */
    content_types: z
      .array(z.string().regex(/^[\w.+-]+\/(\*|[\w.+-]+)$/, 'must be a MIME type such as image/png or image/*'))
      .min(1)
      .optional(),
    max_object_bytes: maxObjectBytes.optional(),
    max_items_per_run: maxItemsPerRun.optional(),
  })
  .strict();

/** How long a local file must have gone unmodified before it is collected, unless the source says otherwise. */
export const DEFAULT_SETTLE_SECONDS = 5;

export const localSourceDefinitionSchema = z
  .object({
    type: z.literal('local'),
    /** A folder; relative paths resolve against the service's working directory. */
    path: z.string().min(1),
    /**
     * A file modified more recently than this is being written (cp, scp and
     * rsync --inplace write in place) and waits for a later collection, so a
     * partial file is never sent. Default DEFAULT_SETTLE_SECONDS; 0 collects at once.
     */
    settle_seconds: z.number().nonnegative().max(24 * 60 * 60).optional(),
    suffixes: suffixes.optional(),
    max_object_bytes: maxObjectBytes.optional(),
    max_items_per_run: maxItemsPerRun.optional(),
  })
  .strict();

/** A pipeline's `source`: where its items are listed from on each collection. */
export const sourceDefinitionSchema = z.discriminatedUnion('type', [s3SourceDefinitionSchema, localSourceDefinitionSchema]);

export type S3SourceDefinition = z.infer<typeof s3SourceDefinitionSchema>;
export type LocalSourceDefinition = z.infer<typeof localSourceDefinitionSchema>;
export type SourceDefinition = z.infer<typeof sourceDefinitionSchema>;
