/**
 * Pillow's image modes and the conversions open_clip's pipeline touches.
 *
 * Why modes matter: torchvision resizes the image *before* open_clip's `convert('RGB')`, so Pillow resizes in
 * whatever mode the file opened in, and each mode has its own rules (see `resizeForMode` in preprocess.ts).
 * The conversions below are the integer formulas of Pillow's `libImaging/Convert.c`, so they round the same way.
 */
import type { PixelData } from './resample.js';

/** The Pillow modes our formats can open in (PNG, JPEG, BMP, GIF, TIFF, WebP). */
export type PilMode = '1' | 'L' | 'P' | 'LA' | 'RGB' | 'RGBA' | 'CMYK' | 'I';

/**
 * An image as Pillow holds it, bands interleaved. Two simplifications that change no result:
 *  - 'P' (palette) is stored already looked up as RGB: it is only ever resized with NEAREST (which picks
 *    whole pixels) and then converted to RGB, and looking up before or after picking gives the same pixels;
 *  - '1' (bilevel) is stored as 0/255 bytes, which is what Pillow's '1' -> 'RGB' conversion produces.
 * 'I' (from 16-bit gray PNG) holds 32-bit integers; every other mode holds bytes.
 */
export interface PilImage {
  mode: PilMode;
  width: number;
  height: number;
  bands: number;
  data: PixelData;
}

export const BANDS: Record<PilMode, number> = { '1': 1, L: 1, P: 3, LA: 2, RGB: 3, RGBA: 4, CMYK: 4, I: 1 };

/** Pillow's MULDIV255: a*b/255 rounded, with shifts instead of a division. */
function mulDiv255(a: number, b: number): number {
  const tmp = a * b + 128;
  return ((tmp >> 8) + tmp) >> 8;
}

function clip8(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

/**
 * RGBA -> RGBa and LA -> La (Convert.c rgbA2rgba / lA2la): colour bands times alpha. Pillow resizes images
 * with alpha in this premultiplied form so that invisible pixels do not bleed their hidden colour into edges.
 */
export function premultiply(img: PilImage): PilImage {
  const { data, bands } = img;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += bands) {
    const alpha = data[i + bands - 1];
    for (let b = 0; b < bands - 1; b++) out[i + b] = mulDiv255(data[i + b], alpha);
    out[i + bands - 1] = alpha;
  }
  return { ...img, data: out };
}

/**
 * RGBa -> RGBA and La -> LA (Convert.c rgba2rgbA / la2lA): divide by alpha with *truncating* integer division
 * (so a premultiply round trip can lose one level), alpha 0 and 255 copied unchanged.
 */
export function unpremultiply(img: PilImage): PilImage {
  const { data, bands } = img;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i += bands) {
    const alpha = data[i + bands - 1];
    for (let b = 0; b < bands - 1; b++) {
      const v = data[i + b];
      out[i + b] = alpha === 255 || alpha === 0 ? v : clip8(Math.trunc((255 * v) / alpha));
    }
    out[i + bands - 1] = alpha;
  }
  return { ...img, data: out };
}

/**
 * `convert('RGB')` as Pillow does it, into a fresh [H, W, 3] byte array. Alpha is dropped, never composited
 * (open_clip's `_convert_to_rgb` is a plain convert); CMYK uses Pillow's naive formula, no ICC profile;
 * mode I saturates at 0 and 255 (Convert.c i2rgb), which is the 16-bit trap documented in docs/image.md.
 */
export function toRGB(img: PilImage): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const { data, bands } = img;
  for (let p = 0; p < n; p++) {
    const i = p * bands;
    const o = p * 3;
    if (img.mode === 'CMYK') {
      const nk = 255 - data[i + 3];
      for (let c = 0; c < 3; c++) out[o + c] = clip8(nk - mulDiv255(data[i + c], nk));
    } else if (bands >= 3) {
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
    } else {
      // 1, L, LA, I: gray copied to all three channels (clip8 is the saturation of mode I).
      out[o] = out[o + 1] = out[o + 2] = clip8(data[i]);
    }
  }
  return out;
}

/** Min and max of a single-band image. */
export function range(data: PixelData): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/**
 * The opt-in alternative to Pillow's saturation for 16-bit gray: stretch the image's own [min, max] linearly
 * onto 0..255 (rounded), giving an 'L' image that then follows the normal 8-bit path. A window chosen per
 * image is not what the model saw in training, but it keeps the anatomy instead of a white silhouette.
 */
export function rescaleToL(img: PilImage): PilImage {
  const { min, max } = range(img.data);
  const span = max - min;
  const out = new Uint8Array(img.data.length);
  if (span > 0) {
    for (let i = 0; i < out.length; i++) out[i] = Math.round(((img.data[i] - min) * 255) / span);
  }
  return { mode: 'L', width: img.width, height: img.height, bands: 1, data: out };
}
