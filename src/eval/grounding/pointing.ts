/**
 * The pointing game (Zhang et al., "Top-down neural attention by excitation backprop", as TorchRay and
 * gScoreCAM score it): a map "points" at its maximum, and it hits when that pixel lies within `tolerance`
 * pixels of the target region.
 *
 * Distances are Euclidean between pixel centres on the crop grid: the peak (px, py) hits when some pixel
 * (x, y) of the region has (x − px)² + (y − py)² ≤ tolerance². Equivalently the region is grown by a disc
 * of radius `tolerance` (`growRegion`) and the peak must fall in the grown region. With the default 15 a
 * peak 9 right and 12 down of the region's nearest pixel hits (distance exactly 15) and one 11 right and
 * 11 down misses (15.56), although a square (Chebyshev) tolerance would call it 11 away. Tolerance 0 asks
 * for the peak inside the region itself.
 *
 * Ties: the peak is the first maximum in row-major order (top row first, left to right), as NumPy's argmax
 * picks it; a constant map therefore points at the top-left pixel. What a map with no preference should
 * score is the chance that a uniformly placed point hits, `pointingChance`: the grown region's share of
 * the crop.
 */
import type { Region } from './region.js';

/** The index of the map's first maximum in row-major order. The map must hold no NaN. */
export function peakIndex(map: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i] > map[best]) best = i;
  return best;
}

/** Whether pixel `index` of the crop grid lies within `tolerance` pixels (Euclidean) of the region. */
export function pointingHit(index: number, region: Region, tolerance: number): boolean {
  checkTolerance(tolerance);
  const { size, inside } = region;
  const [px, py] = [index % size, Math.floor(index / size)];
  const limit = tolerance * tolerance;
  const reach = Math.floor(tolerance); // a pixel within the disc is at most this many whole pixels away on each axis
  for (let y = Math.max(0, py - reach); y <= Math.min(size - 1, py + reach); y++) {
    for (let x = Math.max(0, px - reach); x <= Math.min(size - 1, px + reach); x++) {
      if (inside[y * size + x] !== 0 && (x - px) ** 2 + (y - py) ** 2 <= limit) return true;
    }
  }
  return false;
}

/**
 * The region grown by a disc of radius `tolerance`: 1 for every pixel a peak could be at and still hit.
 * Row by row: pixel (x, y) is in when some row y + dy has a region pixel within w(dy) columns of x, where
 * w(dy) is the widest offset with w² + dy² ≤ tolerance² (found with prefix counts of each row, so this
 * costs size² · (2 · tolerance + 1) steps, not size⁴).
 */
export function growRegion(region: Region, tolerance: number): Uint8Array {
  checkTolerance(tolerance);
  const { size, inside } = region;
  const prefix = rowPrefixCounts(inside, size);
  const limit = tolerance * tolerance;
  const reach = Math.floor(tolerance);
  const grown = new Uint8Array(size * size);
  for (let dy = -reach; dy <= reach; dy++) {
    const w = widest(limit - dy * dy);
    if (w < 0) continue;
    for (let y = Math.max(0, -dy); y < Math.min(size, size - dy); y++) {
      const row = (y + dy) * (size + 1);
      for (let x = 0; x < size; x++) {
        const [from, to] = [Math.max(0, x - w), Math.min(size - 1, x + w)];
        if (prefix[row + to + 1] > prefix[row + from]) grown[y * size + x] = 1;
      }
    }
  }
  return grown;
}

/** The share of crop pixels within `tolerance` of the region: the hit rate of a uniformly random point. */
export function pointingChance(region: Region, tolerance: number): number {
  let n = 0;
  for (const v of growRegion(region, tolerance)) n += v;
  return n / (region.size * region.size);
}

/** The largest whole w ≥ 0 with w² ≤ room (−1 when room < 0), exact despite sqrt's rounding. */
function widest(room: number): number {
  if (room < 0) return -1;
  let w = Math.floor(Math.sqrt(room));
  while ((w + 1) * (w + 1) <= room) w++;
  while (w > 0 && w * w > room) w--;
  return w;
}

/** Per row, counts of inside pixels before each column: prefix[y · (size + 1) + x] = Σ inside[y, 0 … x − 1]. */
function rowPrefixCounts(inside: Uint8Array, size: number): Int32Array {
  const prefix = new Int32Array(size * (size + 1));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) prefix[y * (size + 1) + x + 1] = prefix[y * (size + 1) + x] + inside[y * size + x];
  }
  return prefix;
}

function checkTolerance(tolerance: number): void {
  if (!(tolerance >= 0) || !Number.isFinite(tolerance))
    throw new RangeError(`pointing game: tolerance must be a finite number of pixels ≥ 0, got ${tolerance}`);
}
