/**
 * How well one explanation map, upsampled to the S × S crop, falls on one target region: the measures of
 * issue 22, each a plain formula a reader can redo with NumPy (test/grounding-oracle.test.ts does, with
 * scikit-learn for the AUROC).
 *
 *  - hit: the pointing game (src/eval/grounding/pointing.ts): the map's first maximum (row-major) lies
 *    within `tolerance` pixels, Euclidean, of the region.
 *  - cnr: contrast-to-noise ratio (BioViL, Boecking et al. 2022) |μ_in − μ_out| / sqrt(σ²_in + σ²_out)
 *    with population variances (divide by n), on the map min-max normalised to [0, 1]. Null when there is
 *    no inside or no outside (the region covers the whole crop), and when the denominator is 0 while the
 *    means differ (a map exactly constant inside and constant outside: infinite, and an upsampled patch map
 *    never is one, since bilinear interpolation leaves no step edges). When the means are equal it is 0,
 *    whatever the variances: a constant map (the uniform baseline) has no contrast, CNR 0.
 *  - auroc: the area under the ROC curve of the map's raw values as a score for "inside", ties counted as
 *    half (the Mann-Whitney U / (n_in · n_out), which is scikit-learn's roc_auc_score). Null when the region
 *    is all of the crop. A constant map scores exactly 0.5.
 *  - iou, dice: the region against the pixels where the normalised map is ≥ `threshold`:
 *    |A ∩ B| / |A ∪ B| and 2|A ∩ B| / (|A| + |B|). A constant map normalises to all zeros, so with a
 *    positive threshold it selects nothing and scores 0.
 *
 * Everything is computed in double precision from the map's float32 values.
 */
import { peakIndex, pointingHit } from './pointing.js';
import type { Region } from './region.js';

export interface GroundingOptions {
  /** Pointing game tolerance in crop pixels (Euclidean). */
  tolerance: number;
  /** Threshold on the min-max normalised map for IoU and Dice (a pixel is selected when ≥ threshold). */
  threshold: number;
}

export const DEFAULT_GROUNDING: GroundingOptions = { tolerance: 15, threshold: 0.5 };

export interface RowMeasures {
  hit: boolean;
  cnr: number | null;
  auroc: number | null;
  iou: number;
  dice: number;
}

/** All measures of `map` (size · size values, row-major, finite) against a non-empty `region`. */
export function measureRow(map: Float32Array, region: Region, opts: GroundingOptions): RowMeasures {
  checkInputs(map, region, opts);
  const unit = normaliseMap(map);
  return {
    hit: pointingHit(peakIndex(map), region, opts.tolerance),
    cnr: contrastToNoise(unit, region.inside),
    auroc: auroc(map, region.inside),
    ...overlap(unit, region.inside, opts.threshold),
  };
}

/** (v − min) / (max − min) for every value, in double precision; a constant map becomes all zeros. */
export function normaliseMap(map: ArrayLike<number>): Float64Array {
  let [min, max] = [Infinity, -Infinity];
  for (let i = 0; i < map.length; i++) [min, max] = [Math.min(min, map[i]), Math.max(max, map[i])];
  const unit = new Float64Array(map.length);
  if (max > min) for (let i = 0; i < map.length; i++) unit[i] = (map[i] - min) / (max - min);
  return unit;
}

/** CNR of `values` between inside and outside (rules for 0 and null in the file comment). */
export function contrastToNoise(values: ArrayLike<number>, inside: Uint8Array): number | null {
  const a = moments(values, inside, 1);
  const b = moments(values, inside, 0);
  if (a.n === 0 || b.n === 0) return null;
  const contrast = Math.abs(a.mean - b.mean);
  if (contrast === 0) return 0;
  const noise = Math.sqrt(a.variance + b.variance);
  return noise === 0 ? null : contrast / noise;
}

/** Mean and population variance (two passes) of the values whose flag equals `flag`. */
function moments(values: ArrayLike<number>, inside: Uint8Array, flag: number): { n: number; mean: number; variance: number } {
  let [n, sum] = [0, 0];
  for (let i = 0; i < values.length; i++) if ((inside[i] !== 0 ? 1 : 0) === flag) [n, sum] = [n + 1, sum + values[i]];
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < values.length; i++) if ((inside[i] !== 0 ? 1 : 0) === flag) squares += (values[i] - mean) ** 2;
  return { n, mean, variance: squares / n };
}

/**
 * AUROC of `scores` for the flags in `inside`, ties half: the share of (inside, outside) pairs whose inside
 * score is higher, plus half the tied pairs. Both sides sorted, then one merge: n log n. Null when either
 * side is empty.
 */
export function auroc(scores: ArrayLike<number>, inside: Uint8Array): number | null {
  let count = 0;
  for (let i = 0; i < scores.length; i++) if (inside[i] !== 0) count++;
  if (count === 0 || count === scores.length) return null;
  const [p, q] = [new Float64Array(count), new Float64Array(scores.length - count)];
  let [a, b] = [0, 0];
  for (let i = 0; i < scores.length; i++) {
    if (inside[i] !== 0) p[a++] = scores[i];
    else q[b++] = scores[i];
  }
  p.sort();
  q.sort();
  // Counted twice over (2 per pair won, 1 per tie), so the sum stays a whole number until the one division.
  let [twiceU, below, through] = [0, 0, 0];
  for (const v of p) {
    while (below < q.length && q[below] < v) below++;
    if (through < below) through = below;
    while (through < q.length && q[through] === v) through++;
    twiceU += 2 * below + (through - below);
  }
  return twiceU / (2 * p.length * q.length);
}

/** IoU and Dice of the region against the pixels where `unit` ≥ `threshold`. */
export function overlap(unit: ArrayLike<number>, inside: Uint8Array, threshold: number): { iou: number; dice: number } {
  let [both, region, selected] = [0, 0, 0];
  for (let i = 0; i < unit.length; i++) {
    const [a, b] = [inside[i] !== 0, unit[i] >= threshold];
    if (a) region++;
    if (b) selected++;
    if (a && b) both++;
  }
  const union = region + selected - both;
  return { iou: union === 0 ? 0 : both / union, dice: region + selected === 0 ? 0 : (2 * both) / (region + selected) };
}

function checkInputs(map: Float32Array, region: Region, opts: GroundingOptions): void {
  const { size } = region;
  if (map.length !== size * size) throw new RangeError(`measureRow: the map has ${map.length} values, the region's grid ${size} x ${size}`);
  if (region.inside.length !== size * size) throw new RangeError(`measureRow: the region has ${region.inside.length} flags, not ${size} x ${size}`);
  if (region.area <= 0) throw new RangeError('measureRow: the region is empty (boxesToCrop and maskToCrop return null for such rows; leave them out)');
  let bad = 0;
  while (bad < map.length && Number.isFinite(map[bad])) bad++;
  if (bad < map.length) throw new RangeError(`measureRow: the map holds ${map[bad]} at pixel ${bad}; the measures need finite values`);
  if (!Number.isFinite(opts.threshold)) throw new RangeError(`measureRow: threshold must be a finite number, got ${opts.threshold}`);
}
