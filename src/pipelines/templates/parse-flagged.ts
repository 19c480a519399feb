/**
 * Leading decoration models put before the answer word: spaces, quotes,
 * markdown emphasis, headings, quote marks and bullets.
 */
const LEADING_DECORATION = /^[\s"'`“”‘’«»*_~#>•-]+/u;
/** The answer word, not followed by another letter or digit ("No" but not "Not", "None", "Nope"). */
const ANSWER = /^(yes|no)(?![\p{L}\p{N}])/iu;

/**
 * Reads the moderation answer the seed prompt asks for ("Yes." / "No."
 * followed by a reason), tolerating how models actually write it:
 * `Yes.`, `yes`, `**YES**`, `"No,"`, `  No - the image…`.
 *
 * Returns null when the text does not start with a yes or a no (a refusal,
 * "I cannot tell", "Answer: yes", no text at all). null is neither "clean"
 * nor "flagged": guessing false would let an unreviewed image pass as
 * checked, guessing true would flood the review queue; null keeps the line
 * honest and the text is still there for a person to read.
 */
export const parseFlagged = (text: string | null): boolean | null => {
  if (text === null) return null;
  const answer = ANSWER.exec(text.replace(LEADING_DECORATION, ''));
  if (answer === null) return null;
  return answer[1]?.toLowerCase() === 'yes';
};
