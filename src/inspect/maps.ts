/**
 * The explanation methods proper: functions from captured attention probabilities, activations and
 * gradients (host arrays, batch 1) to one relevance value per token. Token 0 is [CLS]; an image's patch
 * (r, c) is token 1 + 14r + c. The matrices are at most 197 × 197, so plain loops (in double precision)
 * are fast enough and keep every step visible. See docs/explain.md for each method's paper and caveats.
 */
import type { HostTensor } from '../host-tensor.js';

/** How rollout merges the heads of a layer: the paper averages; vit-explain also offers max and min. */
export type HeadFusion = 'mean' | 'max' | 'min';

/** [1, H, S, S] -> its H, S. */
function dims(a: HostTensor): { heads: number; tokens: number } {
  const [b, heads, s, s2] = a.shape;
  if (b !== 1 || s !== s2) throw new Error(`expected attention [1, H, S, S], got [${a.shape}]`);
  return { heads, tokens: s };
}

/** Row [CLS] of a layer's attention: mean over heads, or head `head` alone. S values (keys 0..S-1). */
export function clsAttention(a: HostTensor, head?: number): Float32Array {
  const { heads, tokens } = dims(a);
  const chosen = head === undefined ? [...Array(heads).keys()] : [head];
  const row = new Float32Array(tokens);
  for (let j = 0; j < tokens; j++) {
    let sum = 0;
    for (const h of chosen) sum += a.data[h * tokens * tokens + j]; // A[0, h, query 0, key j]
    row[j] = sum / chosen.length;
  }
  return row;
}

/** [1, H, S, S] -> S × S, heads merged elementwise by `fusion`. */
export function fuseHeads(a: HostTensor, fusion: HeadFusion): Float64Array {
  const { heads, tokens } = dims(a);
  const n = tokens * tokens;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let acc = a.data[i];
    for (let h = 1; h < heads; h++) {
      const v = a.data[h * n + i];
      acc = fusion === 'mean' ? acc + v : fusion === 'max' ? Math.max(acc, v) : Math.min(acc, v);
    }
    out[i] = fusion === 'mean' ? acc / heads : acc;
  }
  return out;
}

/** c = a · b for n × n row-major matrices. */
function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
    }
  }
  return c;
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/**
 * vit-explain's discard: zero the ⌊ratio · S²⌋ smallest entries of the fused matrix, except entry (0, 0)
 * (its "don't drop the class token" guard protects only that flat index).
 */
function discardLowest(m: Float64Array, ratio: number): void {
  const k = Math.floor(m.length * ratio);
  if (k === 0) return;
  const order = [...m.keys()].sort((x, y) => m[x] - m[y] || x - y);
  for (const idx of order.slice(0, k)) if (idx !== 0) m[idx] = 0;
}

export interface RolloutOptions {
  headFusion?: HeadFusion;
  /** Fraction of the lowest fused attention entries zeroed per layer (vit-explain); 0 = the paper. */
  discardRatio?: number;
}

/**
 * Attention rollout (Abnar & Zuidema 2020): Â_l = rownorm(fuse_h(A_l) + I), the identity standing for
 * the residual path; J = Â_0, then J ← Â_l · J for each later layer. Returns J's row [CLS] (S values).
 */
export function rollout(layers: HostTensor[], opts: RolloutOptions = {}): Float32Array {
  const { tokens: n } = dims(layers[0]);
  let joint = identity(n);
  for (const a of layers) {
    const fused = fuseHeads(a, opts.headFusion ?? 'mean');
    discardLowest(fused, opts.discardRatio ?? 0);
    for (let i = 0; i < n; i++) {
      fused[i * n + i] += 1; // + I: half of each token's information flows through the residual
      let rowSum = 0;
      for (let j = 0; j < n; j++) rowSum += fused[i * n + j];
      for (let j = 0; j < n; j++) fused[i * n + j] /= rowSum;
    }
    joint = matmul(fused, joint, n);
  }
  return Float32Array.from(joint.subarray(0, n));
}

/**
 * Generic attention explainability (Chefer et al. 2021, "Generic Attention-model Explainability for
 * Interpreting Bi-Modal and Encoder-Decoder Transformers"), as its CLIP notebook computes it:
 * R = I; for each layer, Ā = mean_h max(0, ∂s/∂A ⊙ A) and R ← R + Ā · R. Returns R's row [CLS].
 * `layers` and `grads` are the layers from the start layer on, in forward order.
 */
export function relevance(layers: HostTensor[], grads: HostTensor[]): Float32Array {
  const { heads, tokens: n } = dims(layers[0]);
  const r = identity(n);
  layers.forEach((a, l) => {
    const g = grads[l].data;
    const cam = new Float64Array(n * n);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n * n; i++) cam[i] += Math.max(0, g[h * n * n + i] * a.data[h * n * n + i]) / heads;
    }
    const update = matmul(cam, r, n);
    for (let i = 0; i < n * n; i++) r[i] += update[i];
  });
  return Float32Array.from(r.subarray(0, n));
}

/**
 * Grad-CAM (Selvaraju et al. 2017) on ViT tokens as pytorch-grad-cam applies it: X = [1, S, W] activations
 * of one layer, w_c = mean over the patch tokens of ∂s/∂X[:, c], map = ReLU(Σ_c w_c X[patch, c]).
 * [CLS] is dropped (it is not a place in the image). Returns S - 1 values.
 */
export function gradcam(x: HostTensor, grad: HostTensor): Float32Array {
  const [, s, w] = x.shape;
  const weights = new Float64Array(w);
  for (let t = 1; t < s; t++) for (let c = 0; c < w; c++) weights[c] += grad.data[t * w + c] / (s - 1);
  const map = new Float32Array(s - 1);
  for (let t = 1; t < s; t++) {
    let sum = 0;
    for (let c = 0; c < w; c++) sum += weights[c] * x.data[t * w + c];
    map[t - 1] = Math.max(0, sum);
  }
  return map;
}

/**
 * One layer's LeGrad term (Bousselham et al. 2024): mean over heads and over query tokens of
 * max(0, ∂s_l/∂A_l), keys 1..S-1 (the patches). The caller sums these over layers.
 */
export function legradLayer(grad: HostTensor): Float32Array {
  const { heads, tokens: n } = dims(grad);
  const map = new Float64Array(n - 1);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      for (let j = 1; j < n; j++) map[j - 1] += Math.max(0, grad.data[(h * n + i) * n + j]) / (heads * n);
    }
  }
  return Float32Array.from(map);
}
