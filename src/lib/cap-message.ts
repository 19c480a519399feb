/**
 * How long a stored failure message may be: it lives in a small Redis value
 * (a pipeline's last collection, a run's hash) that every view reads.
 */
export const MAX_MESSAGE_CHARS = 500;

/** The message, cut to `maxChars` with an ellipsis when longer. */
export function capMessage(message: string, maxChars = MAX_MESSAGE_CHARS): string {
  return message.length > maxChars ? `${message.slice(0, maxChars - 1)}…` : message;
}
