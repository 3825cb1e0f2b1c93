/**
 * Reads just enough of an image file's header (PNG, JPEG, BMP, GIF, TIFF, WebP) to know the image's size and
 * the mode Pillow would open it in, before any pixel is decoded (BMP, GIF and TIFF in their own files). Two reasons to do this ourselves rather than ask a decoder:
 *  - the pixel limit must be enforced before allocating (a 74-byte PNG can declare 100000x100000 pixels);
 *  - the Pillow mode decides how the image is resized (P and 1 use NEAREST, LA and RGBA premultiply alpha,
 *    16-bit gray is the 32-bit integer mode I), and decoders hide it: both expand palettes to RGB.
 */
import { UserError } from '../errors.js';
import { bmpHeader } from './bmp.js';
import { gifHeader } from './gif.js';
import type { PilMode } from './modes.js';
import type { ImageFormat, ImageHeader } from './types.js';
import { tiffHeader } from './tiff.js';

/** Pillow's Image.MAX_IMAGE_PIXELS: 1 GiB / 4 bytes / 3 channels. Pillow warns above it, refuses above 2x. */
export const PILLOW_MAX_IMAGE_PIXELS = Math.floor((1024 * 1024 * 1024) / 4 / 3);

/** The formats we decode as Pillow does, for messages and help texts. */
export const FORMAT_NAMES = 'PNG, JPEG, BMP, GIF, TIFF or WebP';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  if (ascii(0, 2) === 'BM') return 'bmp';
  if (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a') return 'gif';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  return null;
}

/** Parses the header and checks it is an image we can (and Pillow would) decode. `name` is for messages. */
export function readHeader(bytes: Uint8Array, name: string, maxPixels: number): ImageHeader {
  const format = sniffFormat(bytes);
  if (format === null) {
    throw new UserError(`${name}: not a ${FORMAT_NAMES} file (unknown signature); convert it to PNG first`);
  }
  const readers = { png: readPngHeader, jpeg: readJpegHeader, bmp: bmpHeader, gif: gifHeader, tiff: tiffHeader, webp: readWebpHeader };
  const header = readers[format](bytes, name);
  if (header.width <= 0 || header.height <= 0) {
    throw new UserError(`${name}: image declares ${header.width}x${header.height} pixels; it has no pixels to use`);
  }
  const pixels = header.width * header.height;
  if (pixels > maxPixels) {
    throw new UserError(
      `${name}: image declares ${header.width}x${header.height} = ${pixels} pixels, above the limit of ` +
        `${maxPixels} (Pillow's decompression-bomb limit); shrink it first, or raise the limit (--max-pixels N; maxPixels in the library)`,
    );
  }
  return header;
}

/**
 * WebP (RIFF): lossy 'VP8 ', lossless 'VP8L' or extended 'VP8X' (alpha, animation). Pillow opens it as RGBA
 * when it has alpha, else RGB; an animation's first frame is the image.
 */
function readWebpHeader(b: Uint8Array, name: string): ImageHeader {
  const chunk = String.fromCharCode(...b.subarray(12, 16));
  const at = 20; // chunk payload
  if (b.length < at + 10) throw new UserError(`${name}: WebP header is truncated; the file is damaged`);
  const u24 = (i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
  let width: number, height: number;
  let alpha = false; // VP8 (lossy, no VP8X) has no alpha
  if (chunk === 'VP8X') {
    [width, height, alpha] = [u24(at + 4) + 1, u24(at + 7) + 1, (b[at] & 0x10) !== 0];
  } else if (chunk === 'VP8L' && b[at] === 0x2f) {
    const bits = (b[at + 1] | (b[at + 2] << 8) | (b[at + 3] << 16) | (b[at + 4] << 24)) >>> 0;
    [width, height, alpha] = [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1, ((bits >>> 28) & 1) === 1];
  } else if (chunk === 'VP8 ' && b[at + 3] === 0x9d && b[at + 4] === 0x01 && b[at + 5] === 0x2a) {
    [width, height] = [(b[at + 6] | (b[at + 7] << 8)) & 0x3fff, (b[at + 8] | (b[at + 9] << 8)) & 0x3fff];
  } else {
    throw new UserError(`${name}: WebP has no image header (chunk '${chunk.replace(/[^ -~]/g, '?')}'); the file is damaged`);
  }
  return { format: 'webp', width, height, mode: alpha ? 'RGBA' : 'RGB', bitDepth: 8, pngColorType: -1 };
}

/** Pillow 9.4 PngImagePlugin's (bit depth, colour type) -> mode table. */
function pngMode(depth: number, colorType: number): PilMode | null {
  const key = `${depth}/${colorType}`;
  const table: Record<string, PilMode> = {
    '1/0': '1',
    '2/0': 'L',
    '4/0': 'L',
    '8/0': 'L',
    '16/0': 'I',
    '8/2': 'RGB',
    '16/2': 'RGB',
    '1/3': 'P',
    '2/3': 'P',
    '4/3': 'P',
    '8/3': 'P',
    // Pillow has no 16-bit LA unpacker: it opens 16-bit gray+alpha as RGBA (gray copied to R, G and B).
    '8/4': 'LA',
    '16/4': 'RGBA',
    '8/6': 'RGBA',
    '16/6': 'RGBA',
  };
  return table[key] ?? null;
}

function readPngHeader(bytes: Uint8Array, name: string): ImageHeader {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + 13 bytes of fields.
  const ihdrType = String.fromCharCode(...bytes.subarray(12, 16));
  if (bytes.length < 29 || ihdrType !== 'IHDR') {
    throw new UserError(`${name}: PNG header is missing or truncated (no IHDR chunk); the file is damaged`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = bytes[24];
  const colorType = bytes[25];
  const mode = pngMode(bitDepth, colorType);
  if (mode === null) {
    throw new UserError(`${name}: invalid PNG (bit depth ${bitDepth} with colour type ${colorType})`);
  }
  return { format: 'png', width, height, mode, bitDepth, pngColorType: colorType };
}

/** Start-of-frame markers: baseline, extended, progressive, lossless, and their arithmetic/hierarchical kin. */
const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function readJpegHeader(bytes: Uint8Array, name: string): ImageHeader {
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) {
      throw new UserError(`${name}: JPEG marker structure is corrupt at byte ${pos}; the file is damaged`);
    }
    const marker = bytes[pos + 1];
    if (marker === 0xff) {
      pos += 1;
      continue;
    } // fill bytes before a marker are allowed
    const length = (bytes[pos + 2] << 8) | bytes[pos + 3];
    if (SOF_MARKERS.has(marker)) return jpegFrame(bytes, pos + 4, length, marker, name);
    pos += 2 + length;
  }
  throw new UserError(`${name}: JPEG has no frame header (SOF) before the end of the file; the file is damaged`);
}

function jpegFrame(bytes: Uint8Array, at: number, length: number, marker: number, name: string): ImageHeader {
  if (at + 6 > bytes.length || length < 8) throw new UserError(`${name}: JPEG frame header is truncated`);
  const precision = bytes[at];
  const height = (bytes[at + 1] << 8) | bytes[at + 2];
  const width = (bytes[at + 3] << 8) | bytes[at + 4];
  const components = bytes[at + 5];
  if (precision !== 8) {
    // Pillow's JPEG plugin also refuses these ("cannot identify image file"): 12/16-bit JPEG is DICOM's.
    throw new UserError(
      `${name}: ${precision}-bit JPEG is not supported (Pillow cannot open it either); ` + `export the image as 16-bit PNG and use --sixteen-bit rescale`,
    );
  }
  if (marker === 0xc3) throw new UserError(`${name}: lossless JPEG is not supported; convert it to PNG first`);
  const modes: Record<number, PilMode> = { 1: 'L', 3: 'RGB', 4: 'CMYK' };
  const mode = modes[components];
  if (mode === undefined) throw new UserError(`${name}: JPEG with ${components} components is not supported`);
  return { format: 'jpeg', width, height, mode, bitDepth: 8, pngColorType: -1 };
}
