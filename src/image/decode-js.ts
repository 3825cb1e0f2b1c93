/**
 * The pure-JS decoders: our own for PNG (png.ts; lossless, so exactly Pillow's samples) and jpeg-js for JPEG (not exact:
 * jpeg-js upsamples 4:2:0 chroma by pixel replication where libjpeg uses "fancy" triangular upsampling, and its
 * IDCT rounds differently; the measured gap is in docs/image.md and printed by test/image-parity.test.ts).
 * Used with `decoder: 'js'`, automatically when sharp's native binary cannot load, and in a browser bundle
 * (nothing here needs Node).
 */
import jpeg from 'jpeg-js';
import { UserError, oneLine } from '../errors.js';
import type { ImageHeader } from './types.js';
import type { PilImage } from './modes.js';
import { toPilImage } from './pil-image.js';
import { decodePng } from './png.js';

export async function decodeWithJs(bytes: Uint8Array, header: ImageHeader, name: string): Promise<PilImage> {
  if (header.format !== 'png' && header.format !== 'jpeg') {
    throw new UserError(
      `${name}: ${header.format.toUpperCase()} is decoded by sharp (libvips), and the pure-JS decoders were asked for (or sharp cannot load here); use --decoder sharp, or convert the image to PNG`,
    );
  }
  try {
    return header.format === 'png' ? await decodePngImage(bytes, header) : decodeJpeg(bytes, header);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${name}: cannot decode ${header.format.toUpperCase()} (${oneLine(err)}); the file is damaged`);
  }
}

async function decodePngImage(bytes: Uint8Array, header: ImageHeader): Promise<PilImage> {
  // A gray/RGB tRNS key is reported but not applied (png.ts adds no alpha): Pillow records the key and keeps
  // the colour, and convert('RGB') ignores it. 16-bit samples arrive whole (toPilImage reduces them Pillow's way).
  const png = await decodePng(bytes);
  if (png.colorType === 0 && png.bitDepth < 8) {
    // Pillow's "L;2"/"L;4"/"1" unpackers spread low-bit gray over 0..255 exactly: v * 255 / (2^bits - 1).
    const factor = 255 / ((1 << png.bitDepth) - 1);
    for (let i = 0; i < png.samples.length; i++) png.samples[i] *= factor;
  }
  return toPilImage(header, png.samples, png.channels);
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
