/**
 * Comparing two traces (hook name → tensor) the way a parity tester reads them: for each hook in forward
 * order, the max absolute and relative error, the cosine, and pass/fail against a stated tolerance.
 * The first failing hook is where two runs start to diverge; everything after it inherits the error.
 */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Tolerances of the project's parity bar (float32 end to end). */
export const TOLERANCES = {
  /** Attention probabilities live in [0, 1]: held tighter. */
  probs: 1e-5,
  /** Every other hook activation and the features. */
  activation: 1e-4,
  /** Logits are features × exp(logit_scale) ≈ 100, so the same relative error is 100× larger. */
  logits: 1e-3,
} as const;

export function toleranceFor(name: string): number {
  if (name.endsWith('.probs')) return TOLERANCES.probs;
  if (name.includes('logits')) return TOLERANCES.logits;
  return TOLERANCES.activation;
}

export interface HookDiff {
  name: string;
  shape: number[];
  maxAbs: number;
  maxRel: number;
  cosine: number;
  tolerance: number;
  pass: boolean;
  /** Set when the two sides cannot be compared (shape mismatch). */
  problem?: string;
}

export interface ArrayDiff {
  maxAbs: number;
  maxRel: number;
  cosine: number;
}

/** Max abs / relative error and cosine of two equally long arrays (`b` is the reference). */
export function diffArrays(a: ArrayLike<number>, b: ArrayLike<number>): ArrayDiff {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let maxRel = 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= maxAbs)) maxAbs = d; // a NaN anywhere makes maxAbs NaN (and a parity check fail)
    const rel = d / Math.max(Math.abs(b[i]), 1e-6);
    if (rel > maxRel) maxRel = rel;
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
  return { maxAbs, maxRel, cosine };
}

export function diffTensors(name: string, ours: HostTensor, ref: HostTensor, tolerance = toleranceFor(name)): HookDiff {
  const base = { name, shape: ref.shape, tolerance };
  if (ours.shape.length !== ref.shape.length || ours.shape.some((d, i) => d !== ref.shape[i])) {
    const problem = `shape [${ours.shape}] vs reference [${ref.shape}]`;
    return { ...base, maxAbs: NaN, maxRel: NaN, cosine: NaN, pass: false, problem };
  }
  const stats = diffArrays(ours.data, ref.data);
  return { ...base, ...stats, pass: stats.maxAbs <= tolerance };
}

/** One line per hook, aligned, for terminals and CI logs. */
export function formatDiffTable(rows: HookDiff[]): string {
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const head = `${'hook'.padEnd(width)}  ${'max|diff|'.padStart(10)}  ${'max rel'.padStart(10)}  ${'cosine'.padStart(12)}  ${'tol'.padStart(7)}  result`;
  const lines = rows.map((r) => {
    const fmt = (x: number) => (Number.isNaN(x) ? 'NaN' : x.toExponential(2)).padStart(10);
    const verdict = r.problem ? `FAIL (${r.problem})` : r.pass ? 'ok' : 'FAIL';
    return `${r.name.padEnd(width)}  ${fmt(r.maxAbs)}  ${fmt(r.maxRel)}  ${r.cosine.toFixed(9).padStart(12)}  ${r.tolerance.toExponential(0).padStart(7)}  ${verdict}`;
  });
  return [head, ...lines].join('\n');
}
