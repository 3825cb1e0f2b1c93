/**
 * Windows BMP, decoded exactly as Pillow 9.4's BmpImagePlugin does (sharp/libvips has no BMP loader, and the
 * mechanism is small enough to show): the mode follows Pillow's rules, which the resize then depends on:
 *
 *   1/4/8-bit palette    P, or 1 when the palette is exactly black/white (2 colours), or L when it is the
 *                        grey ramp 0, 1, 2, ... (Pillow "ditches" such palettes)
 *   16-bit               RGB from 5-5-5 (default) or 5-6-5 bit fields, each field scaled by v·255/max, truncated
 *   24-bit               RGB (stored B, G, R)
 *   32-bit               RGB (B, G, R, ignored byte) unless BI_BITFIELDS masks name an alpha channel: RGBA
 *   RLE8 / RLE4          Pillow's own run-length decoder, quirks included
 *
 * Rows are stored bottom-up unless the height is negative. Palette indices beyond the file's palette read
 * Pillow's default palette entries (the grey ramp). Anything Pillow refuses or misreads is refused here.
 */
import { UserError } from '../errors.js';
import type { ImageHeader } from './types.js';
import { BANDS, type PilImage, type PilMode } from './modes.js';

type Layout = '1' | 'L' | 'P1' | 'P4' | 'P8' | 'BGR15' | 'BGR16' | 'BGR' | 'BGRX' | 'XBGR' | 'ABGR' | 'RGBA' | 'BGRA';

interface BmpInfo {
  width: number;
  height: number;
  topDown: boolean;
  bits: number;
  mode: PilMode;
  layout: Layout;
  rle: 0 | 4 | 8;
  dataOffset: number;
  /** 256 RGB entries for P images: the file's, then Pillow's default grey ramp. */
  palette?: Uint8Array;
}

const u16 = (b: Uint8Array, at: number) => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number) => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;

/** 32-bit BI_BITFIELDS masks (R, G, B, A) Pillow accepts, and their byte layouts. */
const MASKS_32: Record<string, Layout> = {
  'ff0000,ff00,ff,0': 'BGRX',
  'ff000000,ff0000,ff00,0': 'XBGR',
  'ff000000,ff0000,ff00,ff': 'ABGR',
  'ff,ff00,ff0000,ff000000': 'RGBA',
  'ff0000,ff00,ff,ff000000': 'BGRA',
  '0,0,0,0': 'BGRA',
};

function parseBmp(b: Uint8Array, name: string): BmpInfo {
  const fail = (why: string): never => {
    throw new UserError(`${name}: ${why}; convert it to PNG first`);
  };
  if (b.length < 26) fail('BMP header is truncated');
  const headerSize = u32(b, 14);
  const h = 18; // the DIB header's fields, after its size
  if (b.length < 14 + headerSize) fail('BMP header is truncated');
  let width: number;
  let height: number;
  let topDown = false;
  let bits: number;
  let compression = 0;
  let colors = 0;
  let masks: number[] | undefined;
  if (headerSize === 12) {
    [width, height, bits] = [u16(b, h), u16(b, h + 2), u16(b, h + 6)];
  } else if ([40, 64, 108, 124].includes(headerSize)) {
    width = u32(b, h);
    topDown = b[h + 7] === 0xff; // a negative height
    height = topDown ? 2 ** 32 - u32(b, h + 4) : u32(b, h + 4);
    bits = u16(b, h + 10);
    compression = u32(b, h + 12);
    colors = u32(b, h + 28);
    if (compression === 3) {
      // Masks in the header (v4/v5), or in the 12 bytes after a 40-byte one.
      const at = headerSize >= 56 ? h + 36 : 14 + headerSize;
      masks = [u32(b, at), u32(b, at + 4), u32(b, at + 8), headerSize >= 56 ? u32(b, at + 12) : 0];
    }
  } else {
    return fail(`unsupported BMP header type (${headerSize} bytes)`);
  }
  colors ||= 2 ** bits;
  let dataOffset = u32(b, 10);
  if (dataOffset === 14 + headerSize && bits <= 8) dataOffset += 4 * colors;

  const base: Record<number, [PilMode, Layout]> = {
    1: ['P', 'P1'],
    4: ['P', 'P4'],
    8: ['P', 'P8'],
    16: ['RGB', 'BGR15'],
    24: ['RGB', 'BGR'],
    32: ['RGB', 'BGRX'],
  };
  if (base[bits] === undefined) fail(`unsupported BMP pixel depth (${bits} bits)`);
  let [mode, layout] = base[bits];
  let rle: 0 | 4 | 8 = 0;
  if (compression === 3) {
    const key = (masks as number[]).map((m) => m.toString(16)).join(',');
    if (bits === 32 && MASKS_32[key] !== undefined) layout = MASKS_32[key];
    else if (bits === 24 && key.startsWith('ff0000,ff00,ff,')) layout = 'BGR';
    else if (bits === 16 && key.startsWith('f800,7e0,1f,')) layout = 'BGR16';
    else if (!(bits === 16 && key.startsWith('7c00,3e0,1f,'))) fail('unsupported BMP bit-field layout');
    if (layout.includes('A')) mode = 'RGBA';
  } else if (compression === 1 || compression === 2) {
    rle = compression === 1 ? 8 : 4;
  } else if (compression !== 0) {
    fail(`unsupported BMP compression (${compression})`);
  }
  if (mode !== 'P') return { width, height, topDown, bits, mode, layout, rle, dataOffset };

  if (!(colors > 0 && colors <= 65536)) fail(`unsupported BMP palette size (${colors})`);
  const entry = headerSize === 12 ? 3 : 4;
  const at = 14 + headerSize;
  if (at + entry * colors > b.length) fail('BMP palette is truncated');
  const grey = Array.from({ length: colors }, (_, i) => (colors === 2 ? [0, 255][i] : i));
  if (grey.every((v, i) => b[at + i * entry] === v && b[at + i * entry + 1] === v && b[at + i * entry + 2] === v)) {
    // Pillow drops a black/white or grey-ramp palette and unpacks the raw samples as 1 or L: right only for
    // 1-bit '1' and 8-bit 'L' (it misreads 4-bit ramps and run-length '1' images), so only those pass.
    mode = colors === 2 ? '1' : 'L';
    layout = mode;
    if ((mode === '1' && (bits !== 1 || rle !== 0)) || (mode === 'L' && bits !== 8 && rle === 0)) {
      fail(`a ${bits}-bit BMP with a grey palette of ${colors} entries, which Pillow misreads`);
    }
    return { width, height, topDown, bits, mode, layout, rle, dataOffset };
  }
  const palette = new Uint8Array(256 * 3).map((_, k) => Math.floor(k / 3)); // Pillow's default: the grey ramp
  for (let i = 0; i < Math.min(colors, 256); i++) {
    palette[i * 3] = b[at + i * entry + 2]; // stored B, G, R(, reserved)
    palette[i * 3 + 1] = b[at + i * entry + 1];
    palette[i * 3 + 2] = b[at + i * entry];
  }
  return { width, height, topDown, bits, mode, layout, rle, dataOffset, palette };
}

export function bmpHeader(bytes: Uint8Array, name: string): ImageHeader {
  const info = parseBmp(bytes, name);
  return { format: 'bmp', width: info.width, height: info.height, mode: info.mode, bitDepth: 8, pngColorType: -1 };
}

/** The decoded image, in Pillow's mode (P stored already looked up as RGB, see modes.ts). */
export function decodeBmp(bytes: Uint8Array, name: string): PilImage {
  const info = parseBmp(bytes, name);
  const { width, height, mode } = info;
  const rows = info.rle ? runLengthRows(bytes, info, name) : rawRows(bytes, info, name);
  const bands = BANDS[mode];
  const out = new Uint8Array(width * height * bands);
  for (let y = 0; y < height; y++) {
    // Bottom-up files hold the last image row first.
    const row = rows(info.topDown ? y : height - 1 - y);
    for (let x = 0; x < width; x++) unpack(row, x, info, out, (y * width + x) * bands);
  }
  return { mode, width, height, bands, data: out };
}

/** File row r (in storage order) as a function of the stored bytes. */
function rawRows(b: Uint8Array, info: BmpInfo, name: string): (r: number) => Uint8Array {
  const stride = ((info.width * info.bits + 31) >> 3) & ~3;
  if (info.dataOffset + stride * info.height > b.length) {
    throw new UserError(`${name}: BMP pixel data is truncated (image file is truncated); the file is damaged`);
  }
  return (r) => b.subarray(info.dataOffset + r * stride, info.dataOffset + (r + 1) * stride);
}

/**
 * Pillow's BmpRleDecoder, step by step: encoded runs (two alternating nibbles for RLE4), end of line (pad
 * the row with index 0), end of bitmap, delta (skip with zeros), absolute runs (word-aligned in the file;
 * an odd RLE4 run loses its last pixel, as in Pillow). Returns one byte per pixel, storage order.
 */
function runLengthRows(b: Uint8Array, info: BmpInfo, name: string): (r: number) => Uint8Array {
  const { width, height } = info;
  const data = new Uint8Array(width * height);
  let n = 0; // bytes of `data` written
  let x = 0;
  let pos = info.dataOffset;
  while (n < width * height && pos + 2 <= b.length) {
    const count = b[pos];
    const value = b[pos + 1];
    pos += 2;
    if (count > 0) {
      const run = Math.min(count, Math.max(0, width - x));
      for (let i = 0; i < run && n < data.length; i++) data[n++] = info.rle === 4 ? (i % 2 === 0 ? value >> 4 : value & 15) : value;
      x += run;
    } else if (value === 0) {
      while (n % width !== 0) data[n++] = 0; // end of line
      x = 0;
    } else if (value === 1) {
      break; // end of bitmap
    } else if (value === 2) {
      if (pos + 2 > b.length) break;
      n = Math.min(data.length, n + b[pos] + b[pos + 1] * width);
      pos += 2;
      x = n % width;
    } else {
      const bytes = info.rle === 4 ? value >> 1 : value;
      const avail = Math.min(bytes, b.length - pos);
      for (let i = 0; i < avail; i++) {
        const v = b[pos + i];
        if (info.rle === 4) {
          if (n < data.length) data[n++] = v >> 4;
          if (n < data.length) data[n++] = v & 15;
        } else if (n < data.length) data[n++] = v;
      }
      pos += avail;
      if (avail < bytes) break;
      x += value;
      if (pos % 2 !== 0) pos++; // runs are word-aligned in the file
    }
  }
  if (n < width * height) throw new UserError(`${name}: BMP run-length data is truncated (not enough image data); the file is damaged`);
  return (r) => data.subarray(r * width, (r + 1) * width);
}

/** Pillow's unpackers: 16-bit fields scale by v·255/max with truncation ("BGR;15", "BGR;16"). */
function unpack(row: Uint8Array, x: number, info: BmpInfo, out: Uint8Array, o: number): void {
  const setPalette = (index: number) => {
    const p = info.palette as Uint8Array;
    out[o] = p[index * 3];
    out[o + 1] = p[index * 3 + 1];
    out[o + 2] = p[index * 3 + 2];
  };
  switch (info.layout) {
    case '1':
      out[o] = (row[x >> 3] >> (7 - (x & 7))) & 1 ? 255 : 0;
      return;
    case 'L':
      out[o] = row[x];
      return;
    case 'P1':
      return setPalette(info.rle ? row[x] : (row[x >> 3] >> (7 - (x & 7))) & 1);
    case 'P4':
      return setPalette(info.rle ? row[x] : x % 2 === 0 ? row[x >> 1] >> 4 : row[x >> 1] & 15);
    case 'P8':
      return setPalette(row[x]);
    case 'BGR15':
    case 'BGR16': {
      const v = u16(row, 2 * x);
      const [r, g, gMax] = info.layout === 'BGR15' ? [(v >> 10) & 31, (v >> 5) & 31, 31] : [v >> 11, (v >> 5) & 63, 63];
      out[o] = Math.floor((r * 255) / 31);
      out[o + 1] = Math.floor((g * 255) / gMax);
      out[o + 2] = Math.floor(((v & 31) * 255) / 31);
      return;
    }
    case 'BGR':
      out[o] = row[3 * x + 2];
      out[o + 1] = row[3 * x + 1];
      out[o + 2] = row[3 * x];
      return;
    default: {
      // 32-bit: where R, G, B (and A) sit in the 4 bytes of a pixel.
      const order = { BGRX: [2, 1, 0, -1], XBGR: [3, 2, 1, -1], ABGR: [3, 2, 1, 0], RGBA: [0, 1, 2, 3], BGRA: [2, 1, 0, 3] }[info.layout];
      for (let c = 0; c < (info.mode === 'RGBA' ? 4 : 3); c++) out[o + c] = row[4 * x + order[c]];
    }
  }
}
