/** Why a source could not be listed at all, as the pipeline's last collection names it. */
export type SourceUnavailableCode = 'source_not_found' | 'source_access_denied';

/**
 * The source itself is missing or closed to the worker (a folder that does
 * not exist, a bucket it may not list): a configuration problem the user
 * must fix, told in words that name the source, not a stack trace.
 */
export class SourceUnavailableError extends Error {
  constructor(
    readonly code: SourceUnavailableCode,
    message: string,
  ) {
    super(message);
    this.name = 'SourceUnavailableError';
  }
}
