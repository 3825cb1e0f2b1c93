/**
 * Shared test utilities: where the repository and ../shared are, and how parity tests report differences.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run compiled from dist/test/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The read-only data folder beside the checkout; BIOMEDCLIP_SHARED overrides it. */
export const SHARED_DIR = process.env.BIOMEDCLIP_SHARED ?? path.resolve(REPO_ROOT, '..', 'shared');

export const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures');

/** The Python that has Debian's torch/torchvision/PIL (plain `python3` may be another interpreter). */
export const TORCH_PYTHON = process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3';

export interface DiffStats {
  maxAbs: number;
  maxRel: number;
  cosine: number;
}

export function diffStats(a: ArrayLike<number>, b: ArrayLike<number>): DiffStats {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = d; // also catches NaN
    const rel = d / Math.max(Math.abs(b[i]), 1e-6);
    if (rel > maxRel) maxRel = rel;
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
  return { maxAbs, maxRel, cosine };
}

/** Prints what a parity check saw, so CI logs show the margin and not just pass/fail. */
export function reportDiff(label: string, stats: DiffStats, tolerance: number): void {
  console.log(
    `# ${label}: max|diff| ${stats.maxAbs.toExponential(2)} (tolerance ${tolerance.toExponential(0)}), ` +
      `cosine ${stats.cosine.toFixed(8)}`,
  );
}
