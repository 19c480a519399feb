/** The image formats OpenAI's vision models accept. */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/** How many leading bytes `sniffImageType` needs at most. */
export const SNIFF_BYTES = 16;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const WEBP_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X']);

const startsWith = (bytes: Uint8Array, prefix: readonly number[], at = 0): boolean =>
  bytes.length >= at + prefix.length && prefix.every((byte, i) => bytes[at + i] === byte);

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  bytes.length >= end ? String.fromCharCode(...bytes.subarray(start, end)) : '';

/**
 * The real content type from the leading (magic) bytes, never from a name or
 * a stored Content-Type: uploads are often misnamed, and a wrong type in the
 * data URL makes the API refuse the request. null: not one of the four.
 */
export const sniffImageType = (bytes: Uint8Array): ImageType | null => {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'image/png';
  // SOI marker followed by the first segment's marker byte.
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  const gif = ascii(bytes, 0, 6);
  if (gif === 'GIF87a' || gif === 'GIF89a') return 'image/gif';
  // RIFF container whose form type is WEBP and whose first chunk is an image chunk.
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP' && WEBP_CHUNKS.has(ascii(bytes, 12, 16))) return 'image/webp';
  return null;
};
