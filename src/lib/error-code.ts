/**
 * The system error code (`ECONNREFUSED`, `EACCES`…) of an error or of one of
 * its causes: a failed fetch keeps it on the cause (undici), a file system
 * call on the error itself. Undefined when none has one.
 */
export function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
