/**
 * Our PNG decoder (src/image/png.ts) on files written here byte by byte: each filter type (Paeth's tie-breaks
 * by hand-computed values), Adam7 geometry on images whose pixels spell their own coordinates, packed low-bit
 * samples, 16-bit samples, palettes with tRNS, and damaged files (bad CRC, cut-off IDAT, broken zlib stream,
 * unknown filter) refused with one UserError line. Agreement with Pillow on Pillow-read files, interlaced and
 * filtered ones included, is image-parity.test.ts's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { decodePng } from '../src/image/png.js';
import { preprocessImage } from '../src/image/index.js';
import { UserError } from '../src/errors.js';

/** CRC-32 as PNG computes it, written out again here so that the test does not trust the decoder's table. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function u32(v: number): number[] {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

function chunk(type: string, data: ArrayLike<number>): number[] {
  const body = [...type].map((ch) => ch.charCodeAt(0)).concat(Array.from(data));
  return [...u32(data.length), ...body, ...u32(crc32(Uint8Array.from(body)))];
}

interface Spec {
  width: number;
  height: number;
  bitDepth?: number;
  colorType?: number;
  interlace?: boolean;
  plte?: number[];
  trns?: number[];
  /** The zlib stream's content: filter bytes and rows, already laid out (see `rowsOf`). */
  raw: number[];
  /** How many IDAT chunks carry the stream (default 1). */
  idat?: number;
  noEnd?: boolean;
}

function pngFile(s: Spec): Uint8Array {
  const z = deflateSync(Uint8Array.from(s.raw));
  const pieces = s.idat ?? 1;
  const ihdr = [...u32(s.width), ...u32(s.height), s.bitDepth ?? 8, s.colorType ?? 0, 0, 0, s.interlace ? 1 : 0];
  const bytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', ihdr)];
  if (s.plte) bytes.push(...chunk('PLTE', s.plte));
  if (s.trns) bytes.push(...chunk('tRNS', s.trns));
  for (let k = 0; k < pieces; k++) bytes.push(...chunk('IDAT', z.subarray(Math.floor((z.length * k) / pieces), Math.floor((z.length * (k + 1)) / pieces))));
  if (!s.noEnd) bytes.push(...chunk('IEND', []));
  return Uint8Array.from(bytes);
}

/** Rows of bytes, each filtered with filter `types[y % types.length]` as the spec defines; bpp = bytes per pixel. */
function rowsOf(rows: number[][], bpp: number, types: number[] = [0]): number[] {
  const out: number[] = [];
  rows.forEach((row, y) => {
    const type = types[y % types.length];
    const above = y === 0 ? row.map(() => 0) : rows[y - 1];
    out.push(type);
    row.forEach((x, i) => {
      const [a, b, c] = [i >= bpp ? row[i - bpp] : 0, above[i], i >= bpp ? above[i - bpp] : 0];
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const prediction = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][type];
      out.push((x - prediction + 256) & 255);
    });
  });
  return out;
}

test('each filter type (None, Sub, Up, Average, Paeth) is undone, on 8-bit RGB and on 16-bit gray + alpha', async () => {
  const [width, height] = [7, 6];
  const rgb = Array.from({ length: height }, (_, y) => Array.from({ length: width * 3 }, (_, i) => (i * 37 + y * 91 + ((i * y) % 7) * 29) & 255));
  for (const type of [0, 1, 2, 3, 4]) {
    const png = await decodePng(pngFile({ width, height, colorType: 2, raw: rowsOf(rgb, 3, [type]) }));
    assert.deepEqual(Array.from(png.samples), rgb.flat(), `filter ${type}`);
  }
  const mixed = await decodePng(pngFile({ width, height, colorType: 2, raw: rowsOf(rgb, 3, [4, 3, 2, 1, 0]) }));
  assert.deepEqual(Array.from(mixed.samples), rgb.flat(), 'a different filter on every row');
  // 16-bit gray + alpha: 4 bytes per pixel, so "left" is 4 bytes back; samples come out whole and big-endian.
  const la16 = Array.from({ length: height }, (_, y) => Array.from({ length: width * 4 }, (_, i) => (i * 53 + y * 17) & 255));
  const png = await decodePng(pngFile({ width, height, bitDepth: 16, colorType: 4, raw: rowsOf(la16, 4, [1, 2, 3, 4]) }));
  assert.ok(png.samples instanceof Uint16Array);
  assert.equal(png.channels, 2);
  assert.deepEqual(
    Array.from(png.samples),
    la16.flatMap((row) => row.flatMap((v, i) => (i % 2 === 0 ? [(v << 8) | row[i + 1]] : []))),
  );
});

test("Paeth picks a, b or c exactly as the spec's predictor, ties going to a, then b", async () => {
  // (a, b, c) -> the predictor, worked out by hand from p = a + b - c and the three distances.
  const cases: Array<[number, number, number, number]> = [
    [5, 5, 5, 5], // all distances 0: a
    [5, 5, 0, 5], // pa = pb = 5 < pc = 10: tie between a and b goes to a
    [9, 0, 6, 0], // p = 3: pa = 6, pb = pc = 3: tie between b and c goes to b
    [1, 3, 2, 2], // p = 2: pa = pb = 1, pc = 0: c
    [200, 100, 50, 200], // p = 250: pa = 50, pb = 150, pc = 200: a
    [100, 10, 90, 10], // p = 20: pa = 80, pb = 10, pc = 70: b
    [10, 20, 15, 15], // p = 15: pa = pb = 5, pc = 0: c
  ];
  for (const [a, b, c, expected] of cases) {
    // 2x2 gray: row 0 stores [c, b] unfiltered; row 1 is Paeth-filtered. Its first byte sees (0, c, 0), for
    // which Paeth predicts c, so storing a - c decodes to a; its second byte then sees (a, b, c).
    const stored = [0, c, b, 4, (a - c + 256) & 255, 0];
    const png = await decodePng(pngFile({ width: 2, height: 2, raw: stored }));
    assert.deepEqual(Array.from(png.samples), [c, b, a, expected], `(a, b, c) = (${a}, ${b}, ${c})`);
  }
});

/** Adam7 passes as [x0, y0, dx, dy], written out again here. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** The interlaced stream of an RGB image whose pixel (x, y) is (x, y, pass-independent check byte). */
function adam7Stream(width: number, height: number, types: number[]): number[] {
  const pixel = (x: number, y: number): number[] => [x, y, (x * 7 + y * 13) & 255];
  const out: number[] = [];
  ADAM7.forEach(([x0, y0, dx, dy], pass) => {
    const rows: number[][] = [];
    for (let y = y0; y < height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < width; x += dx) row.push(...pixel(x, y));
      if (row.length > 0) rows.push(row);
    }
    if (rows.length > 0)
      out.push(
        ...rowsOf(
          rows,
          3,
          types.map((t) => (t + pass) % 5),
        ),
      );
  });
  return out;
}

test('Adam7: every pixel lands where its pass puts it, for sizes with empty and partial passes', async () => {
  for (const [width, height] of [
    [1, 1],
    [3, 2],
    [5, 5],
    [8, 8],
    [9, 9],
    [13, 7],
    [2, 17],
  ]) {
    const png = await decodePng(pngFile({ width, height, colorType: 2, interlace: true, raw: adam7Stream(width, height, [0, 1, 2, 3, 4]) }));
    assert.equal(png.interlaced, true);
    const expected = Array.from({ length: height }, (_, y) => Array.from({ length: width }, (_, x) => [x, y, (x * 7 + y * 13) & 255])).flat(2);
    assert.deepEqual(Array.from(png.samples), expected, `${width}x${height}`);
  }
});

test('Adam7 with packed 1-bit samples: each pass row is padded to whole bytes on its own', async () => {
  // 10x3 bilevel image, pixel = (x + y) % 2. Pass widths here: 2, 1, 0 rows, 2, 5/3 rows... built from ADAM7.
  const [width, height] = [10, 3];
  const raw: number[] = [];
  for (const [x0, y0, dx, dy] of ADAM7) {
    for (let y = y0; y < height; y += dy) {
      const bits: number[] = [];
      for (let x = x0; x < width; x += dx) bits.push((x + y) % 2);
      if (bits.length === 0) continue;
      raw.push(0);
      for (let i = 0; i < bits.length; i += 8) raw.push(bits.slice(i, i + 8).reduce((byte, bit, k) => byte | (bit << (7 - k)), 0));
    }
  }
  const png = await decodePng(pngFile({ width, height, bitDepth: 1, interlace: true, raw }));
  assert.deepEqual(
    Array.from(png.samples),
    Array.from({ length: width * height }, (_, p) => ((p % width) + Math.floor(p / width)) % 2),
  );
});

test('low-bit gray is unpacked high bits first and left unscaled; 16-bit gray kept whole', async () => {
  const one = await decodePng(pngFile({ width: 10, height: 1, bitDepth: 1, raw: [0, 0b10110010, 0b11000000] }));
  assert.deepEqual(Array.from(one.samples), [1, 0, 1, 1, 0, 0, 1, 0, 1, 1]);
  const two = await decodePng(pngFile({ width: 5, height: 1, bitDepth: 2, raw: [0, 0b00011011, 0b11000000] }));
  assert.deepEqual(Array.from(two.samples), [0, 1, 2, 3, 3]);
  const four = await decodePng(pngFile({ width: 3, height: 1, bitDepth: 4, raw: [0, 0x0f, 0x70] }));
  assert.deepEqual(Array.from(four.samples), [0, 15, 7]);
  const sixteen = await decodePng(pngFile({ width: 2, height: 1, bitDepth: 16, raw: [0, 0x12, 0x34, 0xff, 0xfe], trns: [0x12, 0x34] }));
  assert.deepEqual(Array.from(sixteen.samples), [0x1234, 0xfffe]);
  assert.deepEqual(sixteen.transparentKey, [0x1234], 'the tRNS key is reported');
  assert.equal(sixteen.channels, 1, 'and not applied: no alpha channel is added');
});

test("palettes expand to RGB, or RGBA with tRNS; indices past PLTE read Pillow's default grey (i, i, i)", async () => {
  const plte = [10, 20, 30, 40, 50, 60, 70, 80, 90];
  const rgb = await decodePng(pngFile({ width: 4, height: 1, bitDepth: 2, colorType: 3, plte, raw: [0, 0b00011011] }));
  assert.equal(rgb.channels, 3);
  assert.deepEqual(Array.from(rgb.samples), [10, 20, 30, 40, 50, 60, 70, 80, 90, 3, 3, 3]);
  const rgba = await decodePng(pngFile({ width: 3, height: 1, colorType: 3, plte, trns: [0, 128], raw: [0, 1, 2, 200] }));
  assert.equal(rgba.channels, 4);
  assert.deepEqual(Array.from(rgba.samples), [40, 50, 60, 128, 70, 80, 90, 255, 200, 200, 200, 255]);
});

test('IDAT split over several chunks, a missing IEND and more image data than the image needs are all accepted', async () => {
  const rows = [
    [1, 2, 3],
    [4, 5, 6],
  ];
  const split = await decodePng(pngFile({ width: 3, height: 2, raw: rowsOf(rows, 1, [1, 2]), idat: 3, noEnd: true }));
  assert.deepEqual(Array.from(split.samples), rows.flat());
  // More inflated bytes than the image needs: Pillow stops once the image is full, and so do we.
  const extra = await decodePng(pngFile({ width: 3, height: 2, raw: [...rowsOf(rows, 1), 9, 9, 9, 9] }));
  assert.deepEqual(Array.from(extra.samples), rows.flat());
});

/** Asserts that the pure-JS path refuses `bytes` with one UserError line matching `why`. */
async function refusedAsDamaged(bytes: Uint8Array, why: RegExp): Promise<void> {
  await assert.rejects(preprocessImage(bytes, undefined, { decoder: 'js' }), (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.ok(!err.message.includes('\n'), err.message);
    assert.match(err.message, /^<image bytes>: cannot decode PNG \(.+\); the file is damaged$/);
    assert.match(err.message, why);
    return true;
  });
}

test('damaged files are refused with one line: bad CRC, IDAT cut off, zlib stream cut, unknown filter, no IDAT', async () => {
  const good = pngFile({
    width: 16,
    height: 16,
    colorType: 2,
    raw: rowsOf(
      Array.from({ length: 16 }, (_, y) => Array.from({ length: 48 }, (_, i) => i * y)),
      3,
      [4],
    ),
  });
  assert.equal((await preprocessImage(good, undefined, { decoder: 'js' })).sourceWidth, 16);
  const idat = 33; // signature 8 + IHDR chunk 25: the IDAT chunk starts here
  const length = (good[idat] << 24) | (good[idat + 1] << 16) | (good[idat + 2] << 8) | good[idat + 3];
  const badCrc = good.slice();
  badCrc[idat + 8 + length + 3] ^= 0x01; // one bit of the stored CRC: the data itself is intact
  await refusedAsDamaged(badCrc, /IDAT chunk at byte 33 fails its CRC check/);
  const unchecked = await decodePng(badCrc, { checkCrc: false });
  assert.deepEqual(unchecked.samples, (await decodePng(good)).samples, 'checkCrc: false skips the check');
  const flipped = good.slice();
  flipped[idat + 8 + 5] ^= 0x10; // one bit inside the compressed data
  await refusedAsDamaged(flipped, /IDAT chunk at byte 33 fails its CRC check/);
  await refusedAsDamaged(good.subarray(0, good.length - 30), /IDAT chunk at byte 33 runs past the end of the file/);
  // A zlib stream cut short, in intact chunks: the CRCs pass, the inflater runs dry.
  const z = deflateSync(Uint8Array.from(rowsOf([Array.from({ length: 48 }, (_, i) => i)], 3)));
  const cut = [
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...chunk('IHDR', [...u32(16), ...u32(16), 8, 2, 0, 0, 0]),
    ...chunk('IDAT', z.subarray(0, 12)),
    ...chunk('IEND', []),
  ];
  await refusedAsDamaged(Uint8Array.from(cut), /image data is corrupt \(zlib: .+\)|image data ends after/);
  await refusedAsDamaged(pngFile({ width: 2, height: 1, raw: [7, 1, 2] }), /unknown filter type 7/);
  const noData = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', [...u32(2), ...u32(1), 8, 0, 0, 0, 0]), ...chunk('IEND', [])];
  await refusedAsDamaged(Uint8Array.from(noData), /no IDAT chunk/);
});
