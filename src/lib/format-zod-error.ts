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

/** One line per problem, each naming the field, so a caller can fix its request without guessing. */
export function formatZodError(error: z.ZodError, root = ''): string {
  return error.issues
    .slice(0, 10)
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return `${formatPath(issue.path, root)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}`;
      }
      return `${formatPath(issue.path, root)}: ${issue.message}`;
    })
    .join('; ');
}
