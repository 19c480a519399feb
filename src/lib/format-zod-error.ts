import type { z } from 'zod';

/** Renders a path as the caller wrote it: `items[3].text`, `template.model`. */
export function formatPath(path: ReadonlyArray<PropertyKey>, root = ''): string {
  let out = root;
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? 'body' : out;
}

/** What one problem says, whether it comes from zod itself or from Fastify's copy of a zod issue. */
export interface IssueToFormat {
  code: string;
  path: ReadonlyArray<PropertyKey>;
  message: string;
  /** The fields an `unrecognized_keys` issue names. */
  keys?: readonly string[] | undefined;
}

/** Names the field a problem is at; by default its path under `root`, as `formatPath` writes it. */
export type NameOfPath = (path: ReadonlyArray<PropertyKey>) => string;

/** One problem, naming the field; unknown fields read the same wherever they are (body or query). */
export function formatIssue(issue: IssueToFormat, root = '', nameOf: NameOfPath = (path) => formatPath(path, root)): string {
  if (issue.code === 'unrecognized_keys' && issue.keys !== undefined) {
    return `${nameOf(issue.path)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
  }
  return `${nameOf(issue.path)}: ${issue.message}`;
}

/** One line per problem, each naming the field, so a caller can fix its request without guessing. */
export function formatZodError(error: z.ZodError, root = '', nameOf?: NameOfPath): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => formatIssue({ code: issue.code, path: issue.path, message: issue.message, keys: issue.code === 'unrecognized_keys' ? issue.keys : undefined }, root, nameOf))
    .join('; ');
}
