/**
 * Maps that need no model, scored beside every method so a number has something to beat:
 *  - a uniform map: one constant value everywhere. Every pixel ties, so its AUROC is exactly 0.5, its CNR 0
 *    (no contrast), its thresholded map empty at any positive threshold (IoU and Dice 0), and its pointing
 *    game, by the first-maximum rule, points at the top-left pixel; the chance a randomly placed point would
 *    hit is `pointingChance` (src/eval/grounding/pointing.ts), what "pointing by chance" should be compared
 *    with.
 *  - a centred Gaussian: the prior that findings sit near the middle of the image, which the centre crop
 *    makes more true.
 */

/** A constant map of `size` × `size` (all ones; only its being constant matters to the measures). */
export function uniformMap(size: number): Float32Array {
  return new Float32Array(size * size).fill(1);
}

/** The default σ of the centred Gaussian, as a fraction of the crop's side: 0.25 · 224 = 56 pixels. */
export const DEFAULT_SIGMA_FRACTION = 0.25;

/**
 * exp(−((x − c)² + (y − c)²) / (2σ²)) at pixel centres x, y = 0 … size − 1, with c = (size − 1) / 2 (the
 * crop's exact centre, between the four middle pixels when size is even) and σ = sigmaFraction · size.
 * Row-major, peak 1 at the middle (the four middle pixels tie; the pointing game takes the first).
 */
export function centerGaussianMap(size: number, sigmaFraction = DEFAULT_SIGMA_FRACTION): Float32Array {
  if (!(sigmaFraction > 0)) throw new RangeError(`centerGaussianMap: sigmaFraction must be positive, got ${sigmaFraction}`);
  const c = (size - 1) / 2;
  const sigma = sigmaFraction * size;
  const along = Float64Array.from({ length: size }, (_, i) => Math.exp(-((i - c) ** 2) / (2 * sigma * sigma)));
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = along[y] * along[x];
  return out;
}
