/**
 * Pillow's resize, reproduced to the bit (libImaging/Resample.c and the NEAREST path of Geometry.c).
 *
 * Bicubic is a separable convolution: a horizontal pass, then a vertical pass over its output. Pillow's
 * choices that decide the exact numbers, all kept here:
 *  - the kernel is Keys' cubic with a = -0.5 and support 2 (4 taps when enlarging);
 *  - it is "area-aware": when shrinking by `scale`, the kernel is stretched by `scale`, so every source pixel
 *    contributes (an antialiasing low-pass), unlike GPU-style bicubic that samples 4 taps at any scale;
 *  - weights are normalized to sum 1 in double precision, then for 8-bit images turned into fixed point with
 *    22 fractional bits (32 - 8 - 2: room for 8-bit values times weights plus headroom for overshoot);
 *  - after the horizontal pass the intermediate is rounded and clipped to uint8, *then* the vertical pass runs.
 *    Doing both passes in float gives slightly different (arguably better) numbers; parity needs this.
 * 32-bit integer images (mode I) keep the double weights and round half away from zero after each pass.
 *
 * Every output pixel depends only on its own window of source pixels, so we compute only the output rows and
 * columns the center crop keeps (`OutputWindow`): identical numbers, and a 4000x50 image does not materialize
 * a 17920x224 intermediate.
 */

export type PixelData = Uint8Array | Int32Array;

/** Pixels with `bands` samples each, interleaved row by row ([H, W, bands]). */
export interface Raster {
  width: number;
  height: number;
  bands: number;
  data: PixelData;
}

/** Which part of the full resized image to compute: columns x0..x0+width-1, rows y0..y0+height-1. */
export interface OutputWindow {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

const PRECISION_BITS = 32 - 8 - 2;
const BICUBIC_SUPPORT = 2.0;

/** Keys' cubic convolution kernel with a = -0.5 (what Pillow calls BICUBIC). */
function bicubicFilter(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Filter taps for one output coordinate: source index of the first tap and its weights. */
interface Taps {
  first: number;
  weights: Float64Array;
}

/**
 * Resample.c precompute_coeffs for output coordinates [from, from + count) of an axis inSize -> outSize.
 * The C code uses doubles and truncating (int) casts; JS numbers are the same doubles, Math.trunc the cast.
 */
function computeTaps(inSize: number, outSize: number, from: number, count: number): Taps[] {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1.0);
  const support = BICUBIC_SUPPORT * filterscale;
  const ss = 1.0 / filterscale;
  const taps: Taps[] = [];
  for (let xx = from; xx < from + count; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    const weights = new Float64Array(Math.max(xmax, 0));
    let ww = 0.0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubicFilter((x + xmin - center + 0.5) * ss);
      weights[x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) weights[x] /= ww;
    taps.push({ first: xmin, weights });
  }
  return taps;
}

/** normalize_coeffs_8bpc: weights to 22-bit fixed point, rounding half away from zero. */
function toFixedPoint(taps: Taps[]): Array<{ first: number; weights: Int32Array }> {
  return taps.map(({ first, weights }) => {
    const fixed = new Int32Array(weights.length);
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] * (1 << PRECISION_BITS);
      fixed[i] = Math.trunc(w < 0 ? w - 0.5 : w + 0.5);
    }
    return { first, weights: fixed };
  });
}

/** Output size of one pass; `horizontal` picks the axis the taps run along. */
interface PassGeometry {
  outWidth: number;
  outHeight: number;
  horizontal: boolean;
}

function pass8(src: Raster, taps: Array<{ first: number; weights: Int32Array }>, g: PassGeometry): Raster {
  const { bands } = src;
  const out = new Uint8Array(g.outWidth * g.outHeight * bands);
  const rowLen = src.width * bands;
  const tapStride = g.horizontal ? bands : rowLen;
  const half = 1 << (PRECISION_BITS - 1); // rounding offset added before the shift
  const data = src.data as Uint8Array; // one concrete array type keeps this hot loop monomorphic (fast)
  let o = 0;
  for (let y = 0; y < g.outHeight; y++) {
    for (let x = 0; x < g.outWidth; x++) {
      const t = taps[g.horizontal ? x : y];
      const base = g.horizontal ? y * rowLen + t.first * bands : t.first * rowLen + x * bands;
      for (let b = 0; b < bands; b++) {
        let ss = half;
        for (let k = 0, i = base + b; k < t.weights.length; k++, i += tapStride) ss += data[i] * t.weights[k];
        const v = ss >> PRECISION_BITS; // arithmetic shift = floor, as in C for int32
        out[o++] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return { width: g.outWidth, height: g.outHeight, bands, data: out };
}

/** One pass for mode I: double weights, ROUND_UP (half away from zero), no clipping (values stay 32-bit). */
function pass32(src: Raster, taps: Taps[], g: PassGeometry): Raster {
  const out = new Int32Array(g.outWidth * g.outHeight);
  const tapStride = g.horizontal ? 1 : src.width;
  let o = 0;
  for (let y = 0; y < g.outHeight; y++) {
    for (let x = 0; x < g.outWidth; x++) {
      const t = taps[g.horizontal ? x : y];
      let i = g.horizontal ? y * src.width + t.first : t.first * src.width + x;
      let ss = 0.0;
      for (let k = 0; k < t.weights.length; k++, i += tapStride) ss += src.data[i] * t.weights[k];
      // Resample.c ROUND_UP: (int)(f >= 0 ? f + 0.5 : f - 0.5), a truncating cast.
      out[o++] = Math.trunc(ss >= 0 ? ss + 0.5 : ss - 0.5);
    }
  }
  return { width: g.outWidth, height: g.outHeight, bands: 1, data: out };
}

/**
 * Pillow BICUBIC resize of `src` to outWidth x outHeight, returning only `win` of the result.
 * Like ImagingResampleInner, a pass whose axis keeps its size is skipped (not run as an identity filter).
 */
export function resizeBicubic(src: Raster, outWidth: number, outHeight: number, win: OutputWindow): Raster {
  const is8 = src.data instanceof Uint8Array;
  let img = src;
  const needH = outWidth !== src.width;
  const needV = outHeight !== src.height;
  const vTaps = needV ? computeTaps(src.height, outHeight, win.y0, win.height) : [];
  if (needH) {
    // Only the source rows the vertical pass will read (or the window's rows if there is none).
    const rowFirst = needV ? vTaps[0].first : win.y0;
    const last = vTaps[vTaps.length - 1];
    const rowEnd = needV ? last.first + last.weights.length : win.y0 + win.height;
    img = sliceRows(img, rowFirst, rowEnd);
    for (const t of vTaps) t.first -= rowFirst;
    const hTaps = computeTaps(src.width, outWidth, win.x0, win.width);
    const g = { outWidth: win.width, outHeight: img.height, horizontal: true };
    img = is8 ? pass8(img, toFixedPoint(hTaps), g) : pass32(img, hTaps, g);
  } else {
    img = sliceColumns(img, win.x0, win.x0 + win.width);
  }
  if (needV) {
    const g = { outWidth: img.width, outHeight: win.height, horizontal: false };
    img = is8 ? pass8(img, toFixedPoint(vTaps), g) : pass32(img, vTaps, g);
  } else if (!needH) {
    img = sliceRows(img, win.y0, win.y0 + win.height);
  } else {
    img = sliceRows(img, 0, win.height);
  }
  return img;
}

/**
 * Pillow NEAREST resize (used for modes P and 1), returning only `win`. Geometry.c ImagingScaleAffine walks
 * the source coordinate by repeatedly adding the step in double precision, starting at half a step; we
 * accumulate the same way (not `(i + 0.5) * step`), because the accumulated rounding can differ at exact ties.
 */
export function resizeNearest(src: Raster, outWidth: number, outHeight: number, win: OutputWindow): Raster {
  const xs = nearestIndices(src.width, outWidth, win.x0, win.width);
  const ys = nearestIndices(src.height, outHeight, win.y0, win.height);
  const { bands } = src;
  const out = new (src.data instanceof Uint8Array ? Uint8Array : Int32Array)(win.width * win.height * bands);
  let o = 0;
  for (const y of ys) {
    for (const x of xs) {
      const i = (y * src.width + x) * bands;
      for (let b = 0; b < bands; b++) out[o++] = src.data[i + b];
    }
  }
  return { width: win.width, height: win.height, bands, data: out };
}

/**
 * The source index Pillow's NEAREST resize picks for output positions `from`..`from + count - 1` when
 * `inSize` samples become `outSize`: floor of the output pixel centre mapped back, (i + 0.5) · in/out, as
 * Pillow accumulates it (see resizeNearest). Also how a grounding region is carried into the crop.
 */
export function nearestIndices(inSize: number, outSize: number, from: number, count: number): number[] {
  const step = inSize / outSize;
  let pos = step * 0.5;
  const picked: number[] = [];
  for (let i = 0; i < from + count; i++) {
    if (i >= from) picked.push(Math.min(Math.trunc(pos), inSize - 1));
    pos += step;
  }
  return picked;
}

function sliceRows(img: Raster, from: number, to: number): Raster {
  const rowLen = img.width * img.bands;
  return { ...img, height: to - from, data: img.data.subarray(from * rowLen, to * rowLen) };
}

function sliceColumns(img: Raster, from: number, to: number): Raster {
  if (from === 0 && to === img.width) return img;
  const { bands } = img;
  const width = to - from;
  const out = new (img.data instanceof Uint8Array ? Uint8Array : Int32Array)(width * img.height * bands);
  for (let y = 0; y < img.height; y++) {
    const start = (y * img.width + from) * bands;
    out.set(img.data.subarray(start, start + width * bands), y * width * bands);
  }
  return { width, height: img.height, bands, data: out };
}
