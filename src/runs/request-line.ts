import { countTokenParts, tokensOf } from '../lib/token-estimate.js';
import type { InlineDataUrl } from '../pipelines/templates/inline-data-url.js';
import { shardLineOf, type ShardLine } from './shard-line.js';

/**
 * Stands in for an inline image while the rest of the line is serialized.
 * Should the text somehow hold it too (a prompt quoting it), the counts below
 * disagree and the line is serialized the plain way.
 */
const SLOT = 'batchline:inline-image-slot';
const QUOTED_SLOT = JSON.stringify(SLOT);
const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * The batch request line for one built body, as shard bytes.
 *
 * An image request is ~70 KB of base64 around a few hundred bytes of JSON.
 * Serializing it whole would make JSON.stringify scan and copy the base64 for
 * escapes it cannot have, then UTF-8 encoding copy it again, and the token
 * estimate scan it a third time. Instead the JSON is written with a slot for
 * each inline image, and the images are copied once, straight into the shard
 * file's buffer; the bytes are exactly those of `JSON.stringify(request) + "\n"`.
 */
export function encodeRequestLine(customId: string, endpoint: string, body: Record<string, unknown>, inlineImages: readonly InlineDataUrl[]): ShardLine {
  const request = { custom_id: customId, method: 'POST', url: endpoint, body };
  return (inlineImages.length > 0 ? spliced(request, inlineImages) : null) ?? shardLineOf(JSON.stringify(request));
}

function spliced(request: object, inlineImages: readonly InlineDataUrl[]): ShardLine | null {
  // In the order JSON.stringify meets them, which is the order of the slots in its output.
  const slotted: InlineDataUrl[] = [];
  const json = JSON.stringify(request, (_key, value: unknown) => {
    const image = typeof value === 'string' ? inlineImages.find((candidate) => candidate.url === value) : undefined;
    if (image === undefined) return value;
    slotted.push(image);
    return SLOT;
  });
  const pieces = json.split(QUOTED_SLOT);
  if (pieces.length !== slotted.length + 1) return null;

  let byteLength = 1;
  for (const piece of pieces) byteLength += Buffer.byteLength(piece);
  for (const image of slotted) byteLength += image.url.length + 2;
  const writeTo = (target: Buffer, offset: number): void => {
    let at = offset;
    pieces.forEach((piece, index) => {
      at += target.write(piece, at, 'utf8');
      const image = slotted[index];
      if (image === undefined) return;
      target[at++] = QUOTE;
      // ASCII by construction, so latin1 is a plain copy, byte for byte what UTF-8 would give.
      at += target.write(image.head, at, 'latin1');
      at += target.write(image.base64, at, 'latin1');
      target[at++] = QUOTE;
    });
    target[at] = NEWLINE;
  };

  // The estimate of the whole line: the text around the images (each image an empty string there, the
  // quotes staying, as the estimate's pattern cuts a data URL out of the line), plus one image each.
  const around = countTokenParts(pieces.join('""'));
  return { byteLength, writeTo, estimatedTokens: tokensOf({ textChars: around.textChars, images: around.images + slotted.length }) };
}
