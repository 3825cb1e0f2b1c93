/**
 * The pure-JS decoders: pngjs for PNG (lossless, so exactly Pillow's samples) and jpeg-js for JPEG (not exact:
 * jpeg-js upsamples 4:2:0 chroma by pixel replication where libjpeg uses "fancy" triangular upsampling, and its
 * IDCT rounds differently; the measured gap is in docs/image.md and printed by test/image-parity.test.ts).
 * Used with `decoder: 'js'`, and automatically when sharp's native binary cannot load.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError, oneLine } from '../errors.js';
import type { ImageHeader } from './types.js';
import type { PilImage } from './modes.js';
import { toPilImage } from './decode-sharp.js';

export function decodeWithJs(bytes: Uint8Array, header: ImageHeader, name: string): PilImage {
  if (header.format !== 'png' && header.format !== 'jpeg') {
    throw new UserError(
      `${name}: ${header.format.toUpperCase()} is decoded by sharp (libvips), and the pure-JS decoders were asked for (or sharp cannot load here); use --decoder sharp, or convert the image to PNG`,
    );
  }
  try {
    return header.format === 'png' ? decodePng(bytes, header) : decodeJpeg(bytes, header);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${name}: cannot decode ${header.format.toUpperCase()} (${oneLine(err)}); the file is damaged`);
  }
}

function decodePng(bytes: Uint8Array, header: ImageHeader): PilImage {
  // pngjs blanks the *colour* of pixels matching a gray/RGB tRNS key (it writes 0,0,0,0), while Pillow keeps
  // the colour and only records the key; convert('RGB') ignores it. So drop tRNS for those colour types.
  const input = header.pngColorType === 0 || header.pngColorType === 2 ? withoutChunk(bytes, 'tRNS') : bytes;
  // skipRescale keeps 16-bit samples whole (Pillow reduces them its own way) and low-bit gray raw.
  const png = PNG.sync.read(Buffer.from(input.buffer, input.byteOffset, input.byteLength), { skipRescale: true });
  const samples: Uint8Array | Uint16Array = png.data as unknown as Uint8Array | Uint16Array;
  if (header.pngColorType === 0 && header.bitDepth < 8) {
    // Pillow's "L;2"/"L;4"/"1" unpackers spread low-bit gray over 0..255 exactly: v * 255 / (2^bits - 1).
    const factor = 255 / ((1 << header.bitDepth) - 1);
    for (let i = 0; i < samples.length; i += 4) samples[i] *= factor;
  }
  return toPilImage(header, samples, 4);
}

function decodeJpeg(bytes: Uint8Array, header: ImageHeader): PilImage {
  const decoded = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    tolerantDecoding: false, // a truncated file must fail, as it does in Pillow
    maxResolutionInMP: Math.ceil((header.width * header.height) / 1e6) + 1,
    maxMemoryUsageInMB: 4096,
  });
  // jpeg-js already turned CMYK into RGB with its own formula, so such images continue as RGB: one more
  // (measured) departure from Pillow, which resizes in CMYK and converts afterwards.
  const asHeader = header.mode === 'CMYK' ? { ...header, mode: 'RGB' as const } : header;
  return toPilImage(asHeader, decoded.data, 3);
}

/** The PNG bytes with every chunk of one type removed (other chunks, and their CRCs, untouched). */
function withoutChunk(bytes: Uint8Array, type: string): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const length = ((bytes[pos] << 24) | (bytes[pos + 1] << 16) | (bytes[pos + 2] << 8) | bytes[pos + 3]) >>> 0;
    const end = Math.min(pos + 12 + length, bytes.length);
    if (String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)) !== type) parts.push(bytes.subarray(pos, end));
    pos = end;
  }
  if (pos < bytes.length) parts.push(bytes.subarray(pos));
  return Buffer.concat(parts);
}
