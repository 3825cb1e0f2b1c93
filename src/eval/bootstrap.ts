/**
 * Percentile bootstrap confidence intervals (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993):
 * draw `resamples` datasets of n items with replacement from the n evaluated items, compute each metric on
 * every resample, and report the 2.5th and 97.5th percentiles of those values as the 95% interval. The
 * interval says how much the number would move with another sample of the same size from the same
 * distribution; it says nothing about other datasets. Resamples are seeded, so a rerun gives the same
 * interval. A resample on which a metric is undefined (AUROC of a resample holding one class) is left
 * out of that metric's interval, and the number of resamples kept is reported.
 */
import { mulberry32 } from '../util/random.js';

export interface BootstrapOptions {
  resamples: number;
  seed: number;
  /** Central coverage of the interval (default 0.95). */
  level?: number;
}

export interface BootstrapResult {
  resamples: number;
  seed: number;
  level: number;
  /** metric → [lower, upper]; null when no resample defined it. */
  ci: Record<string, [number, number] | null>;
  /** metric → resamples on which it was defined. */
  valid: Record<string, number>;
}

/** The row indices of each resample: `resamples` arrays of n draws from 0..n-1. */
export function* bootstrapSamples(n: number, resamples: number, seed: number): Generator<Int32Array> {
  const next = mulberry32(seed);
  for (let b = 0; b < resamples; b++) {
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = Math.floor(next() * n);
    yield rows;
  }
}

/** The q-quantile (0..1) of `values` by linear interpolation between order statistics (NumPy's default). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Intervals for every metric `statistic` returns (null values mark a metric undefined on a resample).
 * `statistic` receives the resample's row indices into the original items.
 */
export function bootstrap(n: number, opts: BootstrapOptions, statistic: (rows: Int32Array) => Record<string, number | null>): BootstrapResult {
  const level = opts.level ?? 0.95;
  const values = new Map<string, number[]>();
  for (const rows of bootstrapSamples(n, opts.resamples, opts.seed)) {
    for (const [name, v] of Object.entries(statistic(rows))) {
      if (!values.has(name)) values.set(name, []);
      if (v !== null) values.get(name)?.push(v);
    }
  }
  const ci: BootstrapResult['ci'] = {};
  const valid: BootstrapResult['valid'] = {};
  const tail = (1 - level) / 2;
  for (const [name, vs] of values) {
    valid[name] = vs.length;
    ci[name] = vs.length > 0 ? [quantile(vs, tail), quantile(vs, 1 - tail)] : null;
  }
  return { resamples: opts.resamples, seed: opts.seed, level, ci, valid };
}
