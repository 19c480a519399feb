import { carriesFlaggedMarker, type PromptView } from './request-content.js';

/**
 * The deterministic answers, so tests and the demo know what comes back:
 * - image moderation (an image, or a "yes or no question" prompt): "Yes. …"
 *   when a text part or the image carries FLAGGED, otherwise "No. …";
 * - summaries (a system prompt or request that mentions summarising):
 *   "Summary: " and the first sentence of the user's text, at most 30 words;
 * - anything else: "Echo: " and the user's text.
 */
export type AnswerKind = 'moderation' | 'summary' | 'echo';

const SUMMARY_WORDS = 30;

export function answerKind(view: PromptView): AnswerKind {
  const allText = [view.system, ...view.userTexts].join('\n');
  if (view.images.length > 0 || /yes or no question/i.test(allText)) return 'moderation';
  if (/summar/i.test(view.system) || /^\s*summari[sz]e/i.test(view.userTexts[0] ?? '')) return 'summary';
  return 'echo';
}

export function answerFor(view: PromptView): string {
  switch (answerKind(view)) {
    case 'moderation':
      return carriesFlaggedMarker(view)
        ? 'Yes. The image carries the FLAGGED marker, which the emulator treats as explicit content.'
        : 'No. The image shows nothing the emulator treats as explicit content (it carries no FLAGGED marker).';
    case 'summary':
      return `Summary: ${firstSentence(view.userTexts.join(' '))}`;
    case 'echo':
      return `Echo: ${view.userTexts.join('\n')}`;
  }
}

/** The first sentence of the text, cut at SUMMARY_WORDS words. */
export function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty)';
  const sentence = /^(.+?[.!?])(?=\s|$)/.exec(flat)?.[1] ?? flat;
  const words = sentence.split(' ');
  return words.length <= SUMMARY_WORDS ? sentence : `${words.slice(0, SUMMARY_WORDS).join(' ')}…`;
}
