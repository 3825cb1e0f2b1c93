/**
 * Comparing two traces (hook name → tensor) the way a parity tester reads them: for each hook in forward
 * order, the max absolute and relative error, the cosine, and pass/fail against the tolerance of the
 * hook's kind. The first failing hook is where two runs start to diverge; everything after it inherits the
 * error. This one routine serves `biomedclip parity` and every parity test.
 */
import type { HostTensor } from '../host-tensor.js';
import type { HookPointSpec, PointKind } from '../model/module.js';

/** What decides a hook's tolerance: the kind its module declared, or `logits` for outputs.logits_per_image. */
export type ToleranceKind = PointKind | 'logits';

/** A value passes when |ours − reference| ≤ atol + rtol·|reference| (numpy.allclose's rule). */
export interface Tolerance {
  atol: number;
  rtol: number;
}

/** The project's parity bar, float32 end to end. */
export const TOLERANCES: Record<ToleranceKind, Tolerance> = {
  /** Attention probabilities live in [0, 1]: held tighter. */
  probs: { atol: 1e-5, rtol: 0 },
  /** Pre-softmax scores grow with the weights, so they also get a relative allowance. */
  scores: { atol: 1e-4, rtol: 1e-5 },
  /** Every other hook activation and the features. */
  activation: { atol: 1e-4, rtol: 0 },
  /** Logits are features × exp(logit_scale) ≈ 100, so the same relative error is 100× larger. */
  logits: { atol: 1e-3, rtol: 0 },
};

/** Name → kind for a model's declared hook points (`model.points` or `modelSpec(cfg).points`). */
export function pointKinds(points: readonly HookPointSpec[]): Map<string, PointKind> {
  return new Map(points.map((p) => [p.name, p.kind]));
}

/** The tolerance kind of a trace name: a declared point's kind; logits for the logits; else an activation. */
export function kindOf(name: string, kinds: ReadonlyMap<string, PointKind>): ToleranceKind {
  if (name === 'outputs.logits_per_image') return 'logits';
  return kinds.get(name) ?? 'activation';
}

export interface HookDiff {
  name: string;
  kind: ToleranceKind;
  shape: number[];
  maxAbs: number;
  maxRel: number;
  cosine: number;
  atol: number;
  rtol: number;
  pass: boolean;
  /** Set when the two sides cannot be compared (shape mismatch, a hook on one side only). */
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

/** True when every value of `a` is within `tol` of `b` (NaN never is). */
function allClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance): boolean {
  for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol.atol + tol.rtol * Math.abs(b[i]))) return false;
  return true;
}

/** A row for a hook that could not be compared, failing with the reason. */
function failedRow(name: string, kind: ToleranceKind, shape: number[], scale: number, problem: string): HookDiff {
  const tol = TOLERANCES[kind];
  return { name, kind, shape, atol: tol.atol * scale, rtol: tol.rtol * scale, maxAbs: NaN, maxRel: NaN, cosine: NaN, pass: false, problem };
}

/** One hook's comparison; `kind` picks the tolerance, `scale` multiplies it. */
export function diffTensors(name: string, ours: HostTensor, ref: HostTensor, kind: ToleranceKind, scale = 1): HookDiff {
  if (ours.shape.length !== ref.shape.length || ours.shape.some((d, i) => d !== ref.shape[i])) {
    return failedRow(name, kind, ref.shape, scale, `shape [${ours.shape}] vs reference [${ref.shape}]`);
  }
  const tol = { atol: TOLERANCES[kind].atol * scale, rtol: TOLERANCES[kind].rtol * scale };
  return { name, kind, shape: ref.shape, ...tol, ...diffArrays(ours.data, ref.data), pass: allClose(ours.data, ref.data, tol) };
}

/** A trace whose tensors are read one at a time (a file, a map, tensors on a backend). */
export interface TraceSource {
  /** In the trace's own order. */
  names: string[];
  shape(name: string): number[];
  read(name: string): Promise<Float32Array>;
}

export function traceOfMap(m: ReadonlyMap<string, HostTensor>): TraceSource {
  return { names: [...m.keys()], shape: (n) => m.get(n)!.shape, read: async (n) => m.get(n)!.data };
}

export interface TraceComparison {
  /** One row per reference tensor compared, in our forward order; reference-only hooks are failing rows. */
  rows: HookDiff[];
  /** Our hooks the reference does not hold (not compared: a reference may capture fewer). */
  oursOnly: string[];
  /** The first failing row in forward order: where the two runs start to diverge. */
  firstFailure: HookDiff | null;
}

export interface CompareOptions {
  /** Declared kinds of the hook points (`pointKinds(model.points)`). */
  kinds: ReadonlyMap<string, PointKind>;
  /** Compare only these reference names (default: all but `inputs.*`). */
  names?: string[];
  /** Multiplies every tolerance (default 1). */
  scale?: number;
}

/** Compares every reference tensor with ours, reading one pair at a time. */
export async function compareTraces(ours: TraceSource, reference: TraceSource, opts: CompareOptions): Promise<TraceComparison> {
  const wanted = opts.names ?? reference.names.filter((n) => !n.startsWith('inputs.'));
  const have = new Set(ours.names);
  const rows: HookDiff[] = [];
  for (const name of forwardOrder(ours.names, wanted)) {
    const kind = kindOf(name, opts.kinds);
    if (!have.has(name)) {
      rows.push(failedRow(name, kind, reference.shape(name), opts.scale ?? 1, 'not produced by our model'));
      continue;
    }
    const ref = { shape: reference.shape(name), data: await reference.read(name) };
    rows.push(diffTensors(name, { shape: ours.shape(name), data: await ours.read(name) }, ref, kind, opts.scale));
  }
  const wantedSet = new Set(wanted);
  const oursOnly = ours.names.filter((n) => !n.startsWith('inputs.') && !wantedSet.has(n));
  return { rows, oursOnly, firstFailure: rows.find((r) => !r.pass) ?? null };
}

/**
 * Orders the reference's names by our forward order (hooks as they fire, then outputs). A name we do not
 * produce keeps its place relative to its neighbours in the reference file, so a missing hook is reported
 * where it would have fired, and the first failing row is still the first divergence.
 */
export function forwardOrder(oursOrder: string[], referenceNames: string[]): string[] {
  const position = new Map(oursOrder.map((n, i) => [n, i]));
  let last = -1;
  const keyed = referenceNames.map((name, i) => {
    const p = position.get(name);
    if (p !== undefined) last = p;
    // Unknown names sort just after the previous known one, ties broken by reference order.
    return { name, key: p ?? last + 0.5, i };
  });
  return keyed.sort((a, b) => a.key - b.key || a.i - b.i).map((k) => k.name);
}

/** One line per hook, aligned, for terminals and CI logs. */
export function formatDiffTable(rows: HookDiff[]): string {
  const width = Math.max(4, ...rows.map((r) => r.name.length));
  const head = `${'hook'.padEnd(width)}  ${'max|diff|'.padStart(10)}  ${'max rel'.padStart(10)}  ${'cosine'.padStart(12)}  ${'atol'.padStart(7)}  ${'rtol'.padStart(7)}  result`;
  const lines = rows.map((r) => {
    const fmt = (x: number) => (Number.isNaN(x) ? 'NaN' : x.toExponential(2)).padStart(10);
    const verdict = r.problem ? `FAIL (${r.problem})` : r.pass ? 'ok' : 'FAIL';
    const tol = (x: number) => (x === 0 ? '0' : x.toExponential(0)).padStart(7);
    return `${r.name.padEnd(width)}  ${fmt(r.maxAbs)}  ${fmt(r.maxRel)}  ${r.cosine.toFixed(9).padStart(12)}  ${tol(r.atol)}  ${tol(r.rtol)}  ${verdict}`;
  });
  return [head, ...lines].join('\n');
}
