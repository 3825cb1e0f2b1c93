/**
 * GIF, first frame, decoded exactly as Pillow 9.4's GifImagePlugin does it (libvips decodes GIF to RGBA and
 * composites, which loses what Pillow keeps: the palette index of transparent pixels). What Pillow holds:
 *
 *   mode        P, or L when the palette is the grey ramp (0,0,0), (1,1,1), ... or absent
 *   size        the logical screen, enlarged if the first frame reaches past it
 *   canvas      index 0 (the frame's transparent index if it has one) outside the frame's rectangle
 *   pixels      the frame's LZW-decoded indices (interlaced rows reordered); transparency is recorded, not
 *               applied: convert('RGB') later looks every index up in the palette
 *   palette     the frame's local palette, else the global one; indices past its end read Pillow's
 *               default palette entries (the grey ramp)
 */
import { UserError } from '../errors.js';
import type { ImageHeader } from './types.js';
import type { PilImage } from './modes.js';

interface GifInfo {
  width: number;
  height: number;
  mode: 'P' | 'L';
  /** 256 RGB entries (P only). */
  palette?: Uint8Array;
  frame: { x: number; y: number; width: number; height: number; interlaced: boolean };
  transparency?: number;
  minCodeSize: number;
  /** Offset of the first data sub-block. */
  dataStart: number;
}

/** True when entries are the grey ramp i -> (i, i, i): Pillow then opens the image as L. */
function isGreyRamp(b: Uint8Array, at: number, entries: number): boolean {
  for (let i = 0; i < entries; i++) if (b[at + 3 * i] !== i || b[at + 3 * i + 1] !== i || b[at + 3 * i + 2] !== i) return false;
  return true;
}

function parseGif(b: Uint8Array, name: string): GifInfo {
  const truncated = (): never => {
    throw new UserError(`${name}: GIF is truncated before its first image; the file is damaged`);
  };
  if (b.length < 13) truncated();
  let width = b[6] | (b[7] << 8);
  let height = b[8] | (b[9] << 8);
  let pos = 13;
  let palette: { at: number; entries: number } | undefined;
  if (b[10] & 0x80) {
    palette = { at: pos, entries: 2 << (b[10] & 7) };
    pos += 3 * palette.entries;
  }
  let transparency: number | undefined;
  const skipSubBlocks = () => {
    while (pos < b.length && b[pos] !== 0) pos += b[pos] + 1;
    pos++;
  };
  for (;;) {
    if (pos >= b.length || b[pos] === 0x3b) truncated(); // trailer before any image
    const tag = b[pos++];
    if (tag === 0x21) {
      const label = b[pos++];
      if (label === 0xf9 && b[pos] >= 4 && b[pos + 1] & 1) transparency = b[pos + 4]; // graphic control
      skipSubBlocks();
    } else if (tag === 0x2c) {
      if (pos + 9 > b.length) truncated();
      const frame = {
        x: b[pos] | (b[pos + 1] << 8),
        y: b[pos + 2] | (b[pos + 3] << 8),
        width: b[pos + 4] | (b[pos + 5] << 8),
        height: b[pos + 6] | (b[pos + 7] << 8),
        interlaced: (b[pos + 8] & 0x40) !== 0,
      };
      const flags = b[pos + 8];
      pos += 9;
      if (flags & 0x80) {
        palette = { at: pos, entries: 2 << (flags & 7) };
        pos += 3 * palette.entries;
      }
      if (pos >= b.length || (palette !== undefined && palette.at + 3 * palette.entries > b.length)) truncated();
      width = Math.max(width, frame.x + frame.width);
      height = Math.max(height, frame.y + frame.height);
      const mode = palette === undefined || isGreyRamp(b, palette.at, palette.entries) ? 'L' : 'P';
      let table: Uint8Array | undefined;
      if (mode === 'P' && palette !== undefined) {
        table = new Uint8Array(256 * 3).map((_, k) => Math.floor(k / 3)); // Pillow's default: the grey ramp
        table.set(b.subarray(palette.at, palette.at + 3 * Math.min(palette.entries, 256)));
      }
      return { width, height, mode, palette: table, frame, transparency, minCodeSize: b[pos], dataStart: pos + 1 };
    }
    // Pillow skips any other byte between blocks.
  }
}

export function gifHeader(bytes: Uint8Array, name: string): ImageHeader {
  const info = parseGif(bytes, name);
  return { format: 'gif', width: info.width, height: info.height, mode: info.mode, bitDepth: 8, pngColorType: -1 };
}

/** The first frame on its canvas, in Pillow's mode (P stored already looked up as RGB, see modes.ts). */
export function decodeGif(bytes: Uint8Array, name: string): PilImage {
  const info = parseGif(bytes, name);
  const { width, height, frame } = info;
  const indices = lzw(bytes, info, frame.width * frame.height, name);
  const canvas = new Uint8Array(width * height).fill(info.transparency ?? 0);
  const rows = interlacedRows(frame.height, frame.interlaced);
  for (let r = 0; r < frame.height; r++) {
    canvas.set(indices.subarray(r * frame.width, (r + 1) * frame.width), (frame.y + rows[r]) * width + frame.x);
  }
  if (info.mode === 'L') return { mode: 'L', width, height, bands: 1, data: canvas };
  const p = info.palette as Uint8Array;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < canvas.length; i++) rgb.set(p.subarray(canvas[i] * 3, canvas[i] * 3 + 3), i * 3);
  return { mode: 'P', width, height, bands: 3, data: rgb };
}

/** Row r of the data is image row rows[r]: interlaced GIFs store every 8th row from 0, then from 4, 2, 1. */
function interlacedRows(height: number, interlaced: boolean): number[] {
  if (!interlaced) return Array.from({ length: height }, (_, r) => r);
  const order: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ])
    for (let y = start; y < height; y += step) order.push(y);
  return order;
}

/**
 * GIF's variable-width LZW: codes are read least-significant bit first from the concatenated sub-blocks,
 * start one bit wider than the minimum code size and grow up to 12 bits; a clear code resets the table.
 */
function lzw(b: Uint8Array, info: GifInfo, pixels: number, name: string): Uint8Array {
  const min = info.minCodeSize;
  if (min < 2 || min > 8) throw new UserError(`${name}: GIF LZW code size ${min} is invalid; the file is damaged`);
  // Concatenate the data sub-blocks.
  const chunks: Uint8Array[] = [];
  let pos = info.dataStart;
  while (pos < b.length && b[pos] !== 0) {
    chunks.push(b.subarray(pos + 1, Math.min(b.length, pos + 1 + b[pos])));
    pos += b[pos] + 1;
  }
  const data = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0)); // not Buffer.concat: this runs in a page too
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  const clear = 1 << min;
  const end = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  for (let c = 0; c < clear; c++) [suffix[c], prefix[c]] = [c, -1];
  const out = new Uint8Array(pixels);
  const stack = new Uint8Array(4097);
  let [size, next, previous, n, bit] = [min + 1, clear + 2, -1, 0, 0];
  while (n < pixels) {
    if (bit + size > data.length * 8) throw new UserError(`${name}: GIF image data is truncated (image file is truncated); the file is damaged`);
    let code = 0;
    for (let k = 0; k < size; k++, bit++) code |= ((data[bit >> 3] >> (bit & 7)) & 1) << k;
    if (code === clear) {
      [size, next, previous] = [min + 1, clear + 2, -1];
      continue;
    }
    if (code === end) break;
    if (code > next || (code === next && previous < 0)) throw new UserError(`${name}: GIF image data is corrupt (LZW code ${code}); the file is damaged`);
    // A code not yet in the table (code === next) is the previous string plus its own first index.
    let c = code === next ? previous : code;
    let depth = 0;
    for (; c >= 0; c = prefix[c]) stack[depth++] = suffix[c];
    if (code === next) {
      const head = stack[depth - 1];
      for (let k = depth; k > 0; k--) stack[k] = stack[k - 1];
      stack[0] = head;
      depth++;
    }
    for (let k = depth - 1; k >= 0 && n < pixels; k--) out[n++] = stack[k];
    if (previous >= 0 && next < 4096) {
      [prefix[next], suffix[next]] = [previous, stack[depth - 1]];
      next++;
      if (next === 1 << size && size < 12) size++;
    }
    previous = code;
  }
  return out;
}
