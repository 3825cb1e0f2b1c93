/**
 * Small statistics for the sanity checks: rank correlation, the area under a curve, a seeded shuffle.
 */
import { mulberry32 } from '../util/random.js';

/** Ranks 1..n, ties sharing their mean rank (so a constant input gets equal ranks). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from(values, (v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Float64Array(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) out[order[k].i] = rank;
    start = end + 1;
  }
  return out;
}

/** Pearson correlation; NaN when either side is constant (no ranking to compare). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let [ma, mb] = [0, 0];
  for (let i = 0; i < n; i++) [ma, mb] = [ma + a[i] / n, mb + b[i] / n];
  let [sab, saa, sbb] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** Spearman's rank correlation: Pearson of the ranks, ties at their mean rank. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`spearman: ${a.length} vs ${b.length} values`);
  return pearson(ranks(a), ranks(b));
}

/** Area under y over x evenly spaced on [0, 1] (trapezoids). */
export function auc(y: ArrayLike<number>): number {
  if (y.length < 2) return NaN;
  let sum = 0;
  for (let i = 0; i + 1 < y.length; i++) sum += (y[i] + y[i + 1]) / 2;
  return sum / (y.length - 1);
}

/** Fisher-Yates shuffle of a copy, seeded. */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  const next = mulberry32(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
