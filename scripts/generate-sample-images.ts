/**
 * Writes the sample images in fixtures/images/ (and the fake one in
 * fixtures/bad-images/) with tiny pure-Node encoders, so the fixtures can be
 * rebuilt anywhere without an image library and every byte is accounted for.
 *
 *   node --import tsx scripts/generate-sample-images.ts
 *
 * The output is deterministic: running it again rewrites identical files.
 * Three images carry the ASCII marker FLAGGED in a metadata field (a PNG
 * tEXt chunk, a GIF comment, a JPEG COM segment); the OpenAI emulator
 * answers "Yes." for any image whose bytes contain it, "No." otherwise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';

export const FLAG_MARKER = 'FLAGGED';

type Rgb = readonly [number, number, number];
type Rgba = readonly [number, number, number, number];

// ---------------------------------------------------------------- PNG

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

const crc32 = (bytes: Uint8Array): number => {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
};

const pngChunk = (type: string, data: Uint8Array): Buffer => {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
};

/** An 8-bit RGBA PNG (colour type 6), rows unfiltered, with optional tEXt chunks. */
export const encodePng = (width: number, height: number, pixel: (x: number, y: number) => Rgba, text: Record<string, string> = {}): Buffer => {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 6, 0, 0, 0], 8); // bit depth 8, RGBA, deflate, no filter method variants, no interlace
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 4);
    raw[row] = 0; // filter type None
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 4);
  }
  const texts = Object.entries(text).map(([keyword, value]) => pngChunk('tEXt', Buffer.from(`${keyword}\0${value}`, 'latin1')));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    ...texts,
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
};

// ---------------------------------------------------------------- GIF

/** Collects variable-width codes least significant bit first (GIF and VP8L order). */
class LsbBitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  write(value: number, bits: number): void {
    for (let i = 0; i < bits; i++) {
      this.current |= ((value >>> i) & 1) << this.used;
      if (++this.used === 8) this.flush();
    }
  }

  private flush(): void {
    this.bytes.push(this.current);
    this.current = 0;
    this.used = 0;
  }

  finish(): Buffer {
    if (this.used > 0) this.flush();
    return Buffer.from(this.bytes);
  }
}

/** Splits data into GIF sub-blocks (at most 255 bytes each) ending with a zero-length block. */
const gifSubBlocks = (data: Uint8Array): Buffer => {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length; at += 255) {
    const block = data.subarray(at, at + 255);
    parts.push(Buffer.from([block.length]), Buffer.from(block));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
};

/**
 * A single-frame GIF89a with an 8-colour palette. The LZW stream sends every
 * pixel as a literal and a clear code every few literals, so the code width
 * never grows: far from the smallest encoding, but short and plainly valid.
 */
export const encodeGif = (width: number, height: number, palette: readonly Rgb[], index: (x: number, y: number) => number, comment?: string): Buffer => {
  if (palette.length !== 8) throw new Error('encodeGif takes exactly 8 colours');
  const minCodeSize = 3;
  const clear = 1 << minCodeSize;
  const end = clear + 1;
  const codeWidth = minCodeSize + 1;
  // After a clear the decoder's next code is end + 1; each literal but the first adds one
  // entry, and the width grows when the next code reaches 1 << codeWidth. Stay below it.
  const literalsPerClear = (1 << codeWidth) - (end + 1) - 1;
  const bits = new LsbBitWriter();
  let sinceClear = literalsPerClear;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (sinceClear === literalsPerClear) {
        bits.write(clear, codeWidth);
        sinceClear = 0;
      }
      bits.write(index(x, y) & 7, codeWidth);
      sinceClear++;
    }
  }
  bits.write(end, codeWidth);

  const screen = Buffer.alloc(7);
  screen.writeUInt16LE(width, 0);
  screen.writeUInt16LE(height, 2);
  screen.set([0xf2, 0, 0], 4); // global colour table of 2^(2+1) entries, 8-bit colour resolution
  const descriptor = Buffer.alloc(10);
  descriptor[0] = 0x2c;
  descriptor.writeUInt16LE(width, 5);
  descriptor.writeUInt16LE(height, 7);
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    screen,
    Buffer.from(palette.flat()),
    ...(comment === undefined ? [] : [Buffer.from([0x21, 0xfe]), gifSubBlocks(Buffer.from(comment, 'latin1'))]),
    descriptor,
    Buffer.from([minCodeSize]),
    gifSubBlocks(bits.finish()),
    Buffer.from([0x3b]),
  ]);
};

// ---------------------------------------------------------------- JPEG

/** Entropy-coded bits, most significant bit first, with 0xFF byte stuffing. */
class JpegBitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.current = (this.current << 1) | ((value >>> i) & 1);
      if (++this.used === 8) this.flush();
    }
  }

  private flush(): void {
    this.bytes.push(this.current);
    if (this.current === 0xff) this.bytes.push(0x00);
    this.current = 0;
    this.used = 0;
  }

  finish(): Buffer {
    // Pad the last byte with 1 bits, as the standard asks.
    while (this.used > 0) this.write(1, 1);
    return Buffer.from(this.bytes);
  }
}

const jpegSegment = (marker: number, data: Uint8Array): Buffer => {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | marker, 0);
  head.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([head, data]);
};

const bitLength = (value: number): number => (value === 0 ? 0 : Math.floor(Math.log2(Math.abs(value))) + 1);

/**
 * A baseline JFIF JPEG whose 8x8 blocks are each one flat colour (the block's
 * average), so only DC coefficients are non-zero. That keeps the encoder to a
 * handful of lines: no DCT, and two tiny Huffman tables (DC categories 0..11
 * as 4-bit codes; AC holding end-of-block only). Width and height must be
 * multiples of 8. YCbCr, 4:4:4, one quantisation table of 8s.
 */
export const encodeJpeg = (width: number, height: number, pixel: (x: number, y: number) => Rgb, comment?: string): Buffer => {
  if (width % 8 !== 0 || height % 8 !== 0) throw new Error('encodeJpeg takes sizes that are multiples of 8');
  const quant = 8;
  const bits = new JpegBitWriter();
  const previousDc = [0, 0, 0];
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      const sums = [0, 0, 0];
      for (let y = by; y < by + 8; y++) {
        for (let x = bx; x < bx + 8; x++) {
          const [r, g, b] = pixel(x, y);
          sums[0] = (sums[0] ?? 0) + 0.299 * r + 0.587 * g + 0.114 * b;
          sums[1] = (sums[1] ?? 0) - 0.168736 * r - 0.331264 * g + 0.5 * b + 128;
          sums[2] = (sums[2] ?? 0) + 0.5 * r - 0.418688 * g - 0.081312 * b + 128;
        }
      }
      for (let c = 0; c < 3; c++) {
        // A flat block's DC coefficient is 8 × (level − 128); quantised by 8 it is the level − 128.
        const dc = Math.round(((sums[c] ?? 0) / 64 - 128) * (8 / quant));
        const diff = dc - (previousDc[c] ?? 0);
        previousDc[c] = dc;
        const category = bitLength(diff);
        bits.write(category, 4);
        if (category > 0) bits.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
        bits.write(0, 1); // AC: end of block
      }
    }
  }

  const jfif = Buffer.from([0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const dqt = Buffer.from([0x00, ...new Array<number>(64).fill(quant)]);
  const frame = Buffer.alloc(15);
  frame[0] = 8;
  frame.writeUInt16BE(height, 1);
  frame.writeUInt16BE(width, 3);
  frame.set([3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0], 5);
  const dcCounts = new Array<number>(16).fill(0);
  dcCounts[3] = 12; // twelve codes of length 4
  const acCounts = new Array<number>(16).fill(0);
  acCounts[0] = 1; // one code of length 1: end of block
  const dht = Buffer.from([0x00, ...dcCounts, ...Array.from({ length: 12 }, (_, i) => i), 0x10, ...acCounts, 0x00]);
  const scan = Buffer.from([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    jpegSegment(0xe0, jfif),
    ...(comment === undefined ? [] : [jpegSegment(0xfe, Buffer.from(comment, 'latin1'))]),
    jpegSegment(0xdb, dqt),
    jpegSegment(0xc0, frame),
    jpegSegment(0xc4, dht),
    jpegSegment(0xda, scan),
    bits.finish(),
    Buffer.from([0xff, 0xd9]),
  ]);
};

// ---------------------------------------------------------------- WebP (VP8L, lossless)

/**
 * A lossless WebP (VP8L) of up to eight colours: each of red, green and blue
 * takes one of two levels, so every channel's prefix code is a "simple" code
 * of one or two 1-bit symbols, and a pixel costs three bits. No transforms,
 * no colour cache, no meta prefix codes; alpha is always opaque.
 */
export const encodeWebp = (width: number, height: number, levels: { r: Rgb2; g: Rgb2; b: Rgb2 }, choose: (x: number, y: number) => readonly [boolean, boolean, boolean]): Buffer => {
  const bits = new LsbBitWriter();
  bits.write(0x2f, 8); // VP8L signature
  bits.write(width - 1, 14);
  bits.write(height - 1, 14);
  bits.write(0, 1); // alpha is not used
  bits.write(0, 3); // version 0
  bits.write(0, 1); // no transform
  bits.write(0, 1); // no colour cache
  bits.write(0, 1); // no meta prefix codes
  // A simple code's two symbols get codes 0 and 1 in symbol order, so sort each pair.
  const pairs = [levels.g, levels.r, levels.b].map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const);
  for (const [low, high] of pairs) writeSimpleCode(bits, low === high ? [low] : [low, high]);
  writeSimpleCode(bits, [255]); // alpha
  writeSimpleCode(bits, [0]); // distance (never used: no back-references)
  const [gPair, rPair, bPair] = pairs;
  const pick = (pair: readonly [number, number] | undefined, wantHigh: boolean, level: Rgb2): void => {
    if (pair === undefined || pair[0] === pair[1]) return; // a one-symbol code costs no bits
    const value = wantHigh ? level[1] : level[0];
    bits.write(value === pair[1] ? 1 : 0, 1);
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = choose(x, y);
      pick(gPair, g, levels.g);
      pick(rPair, r, levels.r);
      pick(bPair, b, levels.b);
    }
  }
  const vp8l = bits.finish();
  const chunkHead = Buffer.alloc(8);
  chunkHead.write('VP8L', 0, 'latin1');
  chunkHead.writeUInt32LE(vp8l.length, 4);
  const padding = Buffer.alloc(vp8l.length % 2);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + chunkHead.length + vp8l.length + padding.length, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, chunkHead, vp8l, padding]);
};

type Rgb2 = readonly [number, number];

const writeSimpleCode = (bits: LsbBitWriter, symbols: readonly number[]): void => {
  bits.write(1, 1); // simple code
  bits.write(symbols.length - 1, 1);
  bits.write(1, 1); // first symbol takes 8 bits
  for (const symbol of symbols) bits.write(symbol, 8);
};

// ---------------------------------------------------------------- the samples

/** A small deterministic generator, so "noise" is the same on every run. */
const seeded = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 0x1_0000_0000;
  };
};

const clampByte = (value: number): number => Math.max(0, Math.min(255, Math.round(value)));

const palette: readonly Rgb[] = [
  [250, 245, 230],
  [32, 48, 88],
  [220, 90, 60],
  [250, 200, 80],
  [70, 150, 110],
  [120, 180, 230],
  [140, 80, 160],
  [30, 30, 30],
];

export interface SampleImage {
  path: string;
  bytes: Buffer;
  flagged: boolean;
}

export const sampleImages = (): SampleImage[] => {
  const sunsetNoise = seeded(1);
  const meadowNoise = seeded(2);
  const posterNoise = seeded(3);
  return [
    {
      path: 'images/sunset.png',
      flagged: false,
      bytes: encodePng(64, 48, (_x, y) => {
        const sky = y / 47;
        return [clampByte(250 - 60 * sky + 10 * sunsetNoise()), clampByte(150 - 90 * sky + 10 * sunsetNoise()), clampByte(60 + 110 * sky), 255];
      }),
    },
    {
      path: 'images/meadow.png',
      flagged: false,
      bytes: encodePng(48, 48, (x, y) => {
        const grass = y > 20 + 4 * Math.sin(x / 6);
        const n = 30 * meadowNoise();
        return grass ? [clampByte(60 + n), clampByte(150 + n), clampByte(70 + n / 2), 255] : [120, 180, clampByte(230 + n / 3), 255];
      }),
    },
    {
      path: 'images/poster.png',
      flagged: true,
      bytes: encodePng(
        48,
        64,
        (x, y) => {
          const inCircle = (x - 24) ** 2 + (y - 28) ** 2 < 15 ** 2;
          const n = 20 * posterNoise();
          return inCircle ? [clampByte(220 + n), clampByte(60 + n), 80, 255] : [clampByte(25 + n), 25, clampByte(40 + n), clampByte(200 + n)];
        },
        { Comment: FLAG_MARKER },
      ),
    },
    {
      path: 'images/harbour.jpg',
      flagged: false,
      bytes: encodeJpeg(128, 96, (x, y) => (y < 40 ? [120, 170, 220] : y < 56 && x % 48 < 20 ? [200, 60, 50] : [30, clampByte(70 + y), 120])),
    },
    {
      path: 'images/mosaic.jpg',
      flagged: true,
      bytes: encodeJpeg(
        128,
        128,
        (x, y) => {
          const cell = ((x >> 4) * 7 + (y >> 4) * 3) % palette.length;
          return palette[cell] ?? [0, 0, 0];
        },
        `${FLAG_MARKER} sample: the emulator answers "Yes." for this image`,
      ),
    },
    {
      path: 'images/orchard.jpg',
      flagged: false,
      bytes: encodeJpeg(96, 96, (x, y) => {
        const tree = ((x % 32) - 16) ** 2 + ((y % 32) - 14) ** 2 < 100;
        return tree ? [60, 140, 60] : [clampByte(150 + y), clampByte(200 - y / 2), 120];
      }),
    },
    {
      path: 'images/stripes.gif',
      flagged: false,
      bytes: encodeGif(80, 60, palette, (x, y) => ((x + y) >> 3) % 8),
    },
    {
      path: 'images/badge.gif',
      flagged: true,
      bytes: encodeGif(
        64,
        64,
        palette,
        (x, y) => {
          const r2 = (x - 32) ** 2 + (y - 32) ** 2;
          return r2 < 12 ** 2 ? 3 : r2 < 20 ** 2 ? 2 : r2 < 28 ** 2 ? 6 : 1;
        },
        `${FLAG_MARKER} sample: the emulator answers "Yes." for this image`,
      ),
    },
    {
      path: 'images/checkers.webp',
      flagged: false,
      bytes: encodeWebp(96, 96, { r: [40, 230], g: [40, 210], b: [60, 90] }, (x, y) => {
        const dark = ((x >> 3) + (y >> 3)) % 2 === 0;
        return [!dark, !dark, dark];
      }),
    },
    {
      path: 'images/rings.webp',
      flagged: false,
      bytes: encodeWebp(96, 80, { r: [30, 240], g: [60, 200], b: [90, 250] }, (x, y) => {
        const ring = Math.floor(Math.hypot(x - 48, y - 40) / 6);
        return [ring % 2 === 0, ring % 3 === 0, ring % 4 < 2];
      }),
    },
  ];
};

const NOT_AN_IMAGE = `This file is named like a PNG but holds plain text.
batchline sniffs the real type from the leading bytes, so an image-moderation
run reports this item as "not_an_image" instead of sending it to the API.
`;

const main = (): void => {
  const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
  const files = [...sampleImages(), { path: 'bad-images/not-really.png', bytes: Buffer.from(NOT_AN_IMAGE), flagged: false }];
  for (const file of files) {
    const target = join(fixtures, file.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.bytes);
    console.log(`${file.path.padEnd(28)} ${String(file.bytes.length).padStart(6)} bytes${file.flagged ? '  (FLAGGED marker)' : ''}`);
  }
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
