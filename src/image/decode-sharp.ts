/**
 * The main decoder: sharp (libvips). Measured on this project's images: its JPEG decoder (mozjpeg, a
 * libjpeg-turbo fork with the same islow IDCT and fancy upsampling) gives exactly Pillow's pixels for
 * baseline, progressive, 4:2:0, 4:2:2, 4:4:4, grayscale and Adobe CMYK JPEGs, and PNG decoding is lossless.
 *
 * What we must stop libvips from doing, because Pillow does not do it:
 *  - colour management: by default libvips turns CMYK into sRGB through an ICC profile; Pillow keeps the raw
 *    CMYK samples (we convert later with Pillow's own formula), so the pipeline stays in CMYK;
 *  - gray to RGB expansion: we ask for one band ('b-w') so 'L' stays 'L' (LA comes back as RGBA, see below);
 *  - 16 -> 8 bit conversion: we ask for 16-bit samples and reduce them as Pillow does;
 *  - EXIF auto-orientation is off by default in sharp, as in Pillow.
 * sharp is loaded lazily: if its native binary cannot load, `loadSharp` returns null and the caller falls
 * back to the pure-JS decoders.
 */
import { UserError, oneLine } from '../errors.js';
import type { ImageHeader } from './types.js';
import type { PilImage } from './modes.js';
import { toPilImage } from './pil-image.js';

type SharpModule = typeof import('sharp');
type SharpFactory = SharpModule['default'];

let sharpPromise: Promise<SharpFactory | null> | undefined;

/** sharp's factory, or null when its native binary is unavailable on this platform. */
export function loadSharp(): Promise<SharpFactory | null> {
  sharpPromise ??= import('sharp').then(
    (m) => m.default,
    () => null,
  );
  return sharpPromise;
}

export async function decodeWithSharp(bytes: Uint8Array, header: ImageHeader, name: string): Promise<PilImage> {
  const sharp = await loadSharp();
  if (sharp === null) throw new UserError(`${name}: sharp is not available on this platform; use --decoder js`);
  const sixteen = header.bitDepth === 16;
  // failOn 'warning' (sharp's default, kept explicit): a truncated or corrupt file is an error, as in Pillow.
  let pipeline = sharp(bytes, { failOn: 'warning', limitInputPixels: false, autoOrient: false });
  const space = colourspaceFor(header);
  if (space === 'cmyk') pipeline = pipeline.pipelineColourspace('cmyk');
  if (space !== null) pipeline = pipeline.toColourspace(space);
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await pipeline.raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    const detail = oneLine(err).replace(/^Warning treated as error due to failOn setting /, '');
    throw new UserError(
      `${name}: cannot decode ${header.format.toUpperCase()} (${detail.length > 160 ? `${detail.slice(0, 160)}…` : detail}); the file is damaged`,
    );
  }
  const { width, height, channels } = raw.info;
  if (width !== header.width || height !== header.height) {
    throw new UserError(`${name}: decoded size ${width}x${height} differs from the header's; the file is damaged`);
  }
  const samples = sixteen
    ? new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength / 2)
    : new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  return toPilImage(header, samples, channels);
}

/** The libvips colour space to deliver, or null to keep the decoded one (RGB, RGBA, palette -> RGB(A)). */
function colourspaceFor(header: ImageHeader): 'b-w' | 'grey16' | 'rgb16' | 'cmyk' | null {
  if (header.mode === 'CMYK') return 'cmyk';
  if (header.mode === 'I') return 'grey16';
  // Without this, libvips reduces 16-bit colour to 8-bit sRGB itself before handing it over.
  if (header.bitDepth === 16) return 'rgb16';
  // Not for LA: libvips drops the alpha band when asked for 'b-w', so LA arrives as (L, L, L, A) instead.
  if (header.mode === 'L' || header.mode === '1') return 'b-w';
  return null;
}
