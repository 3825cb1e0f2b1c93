/**
 * The three building blocks both towers share: Linear, LayerNorm and GELU, written with plain TF.js ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { WeightStore } from './weights.js';

/**
 * y = x Wᵀ + b with W kept in PyTorch's [out, in] layout: `matMul(x, W, false, true)` multiplies by the
 * transpose without materialising it, so no weight is copied or re-laid out at load time.
 */
export class Linear {
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D | null;

  constructor(w: WeightStore, readonly path: string, hasBias = true) {
    this.weight = w.take(`${path}.weight`) as tf.Tensor2D;
    this.bias = hasBias ? (w.take(`${path}.bias`) as tf.Tensor1D) : null;
  }

  get inFeatures(): number {
    return this.weight.shape[1];
  }

  get outFeatures(): number {
    return this.weight.shape[0];
  }

  forward<T extends tf.Tensor>(x: T): T {
    const lead = x.shape.slice(0, -1);
    const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D; // [..., in] -> [N, in]
    let y: tf.Tensor2D = tf.matMul(flat, this.weight, false, true); // [N, out]
    if (this.bias !== null) y = tf.add(y, this.bias);
    return tf.reshape(y, [...lead, this.outFeatures]) as T; // [N, out] -> [..., out]
  }
}

/**
 * LayerNorm over the last axis, as PyTorch computes it: biased variance, eps inside the square root.
 * The eps is per tower: timm's ViT uses 1e-6, BERT 1e-12 (both differ from PyTorch's default 1e-5, and
 * the difference is visible at float32 precision on low-variance tokens).
 */
export class LayerNorm {
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;

  constructor(w: WeightStore, readonly path: string, readonly eps: number) {
    this.weight = w.take(`${path}.weight`) as tf.Tensor1D;
    this.bias = w.take(`${path}.bias`) as tf.Tensor1D;
  }

  forward<T extends tf.Tensor>(x: T): T {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axis, true);
    const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps)));
    return tf.add(tf.mul(normed, this.weight), this.bias) as T;
  }
}

/**
 * GELU(x) = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)): the exact form both PyTorch towers use (nn.GELU() and
 * BERT's "gelu"), not the tanh approximation, which differs by up to ~1e-3 and would break parity.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T;
}
