import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { sniffImageType } from '../../../src/pipelines/templates/sniff-image-type.js';

const fixture = (path: string): Buffer => readFileSync(new URL(`../../../fixtures/${path}`, import.meta.url));
const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : Buffer.from(part))));

describe('sniffImageType', () => {
  it('recognises each format from its magic bytes', () => {
    assert.equal(sniffImageType(bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13])), 'image/png');
    assert.equal(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xe0])), 'image/jpeg');
    assert.equal(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xdb])), 'image/jpeg');
    assert.equal(sniffImageType(bytes('GIF87a', [1, 0, 1, 0])), 'image/gif');
    assert.equal(sniffImageType(bytes('GIF89a', [1, 0, 1, 0])), 'image/gif');
    for (const chunk of ['VP8 ', 'VP8L', 'VP8X']) assert.equal(sniffImageType(bytes('RIFF', [0, 1, 0, 0], 'WEBP', chunk)), 'image/webp', chunk);
  });

  it('recognises every committed sample image by its content', () => {
    const expected: Record<string, string> = {
      'sunset.png': 'image/png',
      'meadow.png': 'image/png',
      'poster.png': 'image/png',
      'harbour.jpg': 'image/jpeg',
      'mosaic.jpg': 'image/jpeg',
      'orchard.jpg': 'image/jpeg',
      'stripes.gif': 'image/gif',
      'badge.gif': 'image/gif',
      'checkers.webp': 'image/webp',
      'rings.webp': 'image/webp',
    };
    for (const [name, type] of Object.entries(expected)) assert.equal(sniffImageType(fixture(`images/${name}`)), type, name);
  });

  it('says null for things that are not one of the four formats', () => {
    const notImages: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['text named .png', fixture('bad-images/not-really.png')],
      ['JSON', bytes('{"text":"hello"}')],
      ['PDF', bytes('%PDF-1.7\n')],
      ['truncated PNG signature', bytes([0x89, 0x50, 0x4e, 0x47])],
      ['PNG signature with a wrong byte', bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x00])],
      ['two JPEG bytes', bytes([0xff, 0xd8])],
      ['GIF with an unknown version', bytes('GIF88a')],
      ['RIFF WAVE', bytes('RIFF', [0, 1, 0, 0], 'WAVEfmt ')],
      ['RIFF WEBP without an image chunk', bytes('RIFF', [0, 1, 0, 0], 'WEBPJUNK')],
      ['RIFF WEBP cut short', bytes('RIFF', [0, 1, 0, 0], 'WEBP')],
      ['BMP', bytes('BM', [0, 0, 0, 0])],
      ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ];
    for (const [name, value] of notImages) assert.equal(sniffImageType(value), null, name);
  });
});
