/**
 * The three building blocks both towers share: Linear, LayerNorm and GELU, written with plain TF.js ops.
 * Each is a module: it holds its parameters under its checkpoint path and publishes its output as the
 * hook point of that path, so `visual.trunk.blocks.3.mlp.fc1` can be captured or edited like any module.
 * `lead` is the shape of the leading (token) axes of the module's input, for the point's declared shape:
 * ['B', 197] for ViT tokens, ['B', 'T'] for text tokens, ['B'] for pooled vectors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Hooks } from './hooks.js';
import { ModuleBase, type Dim, type HookPoint, type ModuleBuilder } from './module.js';

/**
 * PyTorch's y = x Wᵀ + b. The file holds W as [out, in]; the loader keeps that layout or lays W out as
 * [in, out], whichever the backend multiplies faster (its one layout step, load.ts): on wasm only the
 * plain x·W reaches the fast XNNPACK kernel, on cpu the transposed product is the faster one.
 */
export class Linear extends ModuleBase {
  /** [out, in] (as in the checkpoint) or [in, out] (Wᵀ), per the builder's `matrixLayout`. */
  readonly weight: tf.Tensor2D;
  readonly bias: tf.Tensor1D | null;
  /** True when `weight` is held [out, in], so the product needs the transpose flag. */
  private readonly outIn: boolean;
  /** The module's output. */
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    lead: Dim[],
    hasBias = true,
  ) {
    super();
    this.weight = b.matrix(`${path}.weight`, [outFeatures, inFeatures]);
    this.bias = hasBias ? (b.param(`${path}.bias`, [outFeatures]) as tf.Tensor1D) : null;
    this.outIn = b.matrixLayout === 'out-in';
    this.point = b.point(path, [...lead, outFeatures]);
  }

  protected override ownParameterNames(): readonly string[] {
    return this.bias === null ? ['weight'] : ['weight', 'bias'];
  }

  forward<T extends tf.Tensor>(x: T, hooks: Hooks): T {
    const lead = x.shape.slice(0, -1);
    const flat = tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D; // [..., in] -> [N, in]
    let y: tf.Tensor2D = tf.matMul(flat, this.weight, false, this.outIn); // [N, in] · W -> [N, out]
    if (this.bias !== null) y = tf.add(y, this.bias);
    return hooks.fire(this.point, tf.reshape(y, [...lead, this.outFeatures]) as T); // [N, out] -> [..., out]
  }
}

/**
 * LayerNorm over the last axis, as PyTorch computes it: biased variance, eps inside the square root.
 * The eps is per tower: timm's ViT uses 1e-6, BERT 1e-12 (both differ from PyTorch's default 1e-5, and
 * the difference is visible at float32 precision on low-variance tokens).
 */
export class LayerNorm extends ModuleBase {
  readonly weight: tf.Tensor1D;
  readonly bias: tf.Tensor1D;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    width: number,
    readonly eps: number,
    lead: Dim[],
  ) {
    super();
    this.weight = b.param(`${path}.weight`, [width]) as tf.Tensor1D;
    this.bias = b.param(`${path}.bias`, [width]) as tf.Tensor1D;
    this.point = b.point(path, [...lead, width]);
  }

  protected override ownParameterNames(): readonly string[] {
    return ['weight', 'bias'];
  }

  forward<T extends tf.Tensor>(x: T, hooks: Hooks): T {
    const axis = x.rank - 1;
    const mean = tf.mean(x, axis, true);
    const centered = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centered), axis, true);
    const normed = tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps)));
    return hooks.fire(this.point, tf.add(tf.mul(normed, this.weight), this.bias) as T);
  }
}

/**
 * GELU(x) = x · Φ(x) = 0.5 · x · (1 + erf(x / √2)): the exact form both PyTorch towers use (nn.GELU() and
 * BERT's "gelu"), not the tanh approximation, which differs by up to ~1e-3 and would break parity.
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T;
}

/** GELU as a module (`mlp.act`, `text.proj.1`, BERT's `intermediate_act_fn`): no parameters, one hook point. */
export class Gelu extends ModuleBase {
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    shape: Dim[],
  ) {
    super();
    this.point = b.point(path, shape);
  }

  forward<T extends tf.Tensor>(x: T, hooks: Hooks): T {
    return hooks.fire(this.point, gelu(x));
  }
}
