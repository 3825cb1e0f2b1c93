/**
 * Decoded samples -> the image Pillow would hold: the last step both PNG/JPEG decoders share (sharp's, and the
 * pure-JS ones). Free of Node and of sharp, so that the pure-JS path can run in a page.
 */
import { UserError } from '../errors.js';
import type { ImageHeader } from './types.js';
import { BANDS, type PilImage } from './modes.js';

/**
 * Decoded samples (any band count, 8 or 16 bit) -> the Pillow image. 16-bit samples become mode I unchanged
 * (gray) or keep their high byte (RGB/RGBA: Pillow's "RGB;16B" unpacker truncates, it does not round).
 * Palette images are expanded by the decoder and lose their alpha here: Pillow's P -> RGB ignores tRNS.
 */
export function toPilImage(header: ImageHeader, samples: Uint8Array | Uint16Array, channels: number): PilImage {
  const { width, height, mode } = header;
  const n = width * height;
  if (samples.length < n * channels) throw new UserError(`decoded image is shorter than ${width}x${height}`);
  const bands = BANDS[mode];
  if (mode === 'I') {
    const data = new Int32Array(n);
    for (let p = 0; p < n; p++) data[p] = samples[p * channels];
    return { mode, width, height, bands, data };
  }
  const out = new Uint8Array(n * bands);
  const shift = samples instanceof Uint16Array ? 8 : 0;
  // Which decoded channel feeds each Pillow band: gray+alpha arrives as 2 channels, RGBA as 4, and a
  // 16-bit LA file is Pillow mode RGBA built from (L, L, L, A).
  const source = bandSources(bands, channels);
  for (let p = 0; p < n; p++) {
    for (let b = 0; b < bands; b++) out[p * bands + b] = samples[p * channels + source[b]] >> shift;
  }
  return { mode, width, height, bands, data: out };
}

function bandSources(bands: number, channels: number): number[] {
  if (bands === 4 && channels === 2) return [0, 0, 0, 1];
  if (bands === 2) return channels === 2 ? [0, 1] : [0, channels - 1];
  return Array.from({ length: bands }, (_, b) => Math.min(b, channels - 1));
}
