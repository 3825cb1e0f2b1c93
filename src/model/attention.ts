/**
 * Multi-head scaled dot-product attention, written out step by step: split into heads, scores, scale,
 * mask, softmax, weighted sum, merge heads. Both towers call `attend`; they differ only in how q, k, v
 * are produced (one fused qkv Linear in timm, three Linears in BERT) and in the mask (none for images).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Hooks } from './hooks.js';
import { headwiseMatMul } from './policy.js';
import type { Dim, HookPoint, ModuleBuilder } from './module.js';

/** The three points `attend` fires, declared by the attention module that owns them. */
export interface AttentionPoints {
  scores: HookPoint;
  probs: HookPoint;
  context: HookPoint;
}

/** [B, S, H·D] -> [B, H, S, D]: feature f of a token belongs to head f // D, dimension f % D. */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [b, s, width] = x.shape;
  const perHead = tf.reshape(x, [b, s, heads, width / heads]); // [B, S, H, D]
  return tf.transpose(perHead, [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, S, D]
}

/** [B, H, S, D] -> [B, S, H·D]: the inverse of splitHeads. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [b, h, s, d] = x.shape;
  const tokensFirst = tf.transpose(x, [0, 2, 1, 3]); // [B, S, H, D]
  return tf.reshape(tokensFirst, [b, s, h * d]); // [B, S, H·D]
}

/**
 * Declares the three points `attend` publishes under an attention module's `path`, for `seq` tokens:
 *   `${path}.scores`  [B, H, S, S]  q·kᵀ · scale + mask, before the softmax (what "attention logits" means)
 *   `${path}.probs`   [B, H, S, S]  the softmax: row i is query i's weights over the keys
 *   `${path}.context` [B, H, S, D]  each head's weighted sum of values, before the heads are merged
 */
export function declareAttentionPoints(b: ModuleBuilder, path: string, heads: number, headDim: number, seq: Dim): AttentionPoints {
  return {
    scores: b.point(`${path}.scores`, ['B', heads, seq, seq], 'scores'),
    probs: b.point(`${path}.probs`, ['B', heads, seq, seq], 'probs'),
    context: b.point(`${path}.context`, ['B', heads, seq, headDim]),
  };
}

/**
 * probs = softmax(q kᵀ · scale + mask) over the keys; context = probs v.
 *
 * @param q, k, v  [B, H, S, D]
 * @param scale    1/√D. For D = 64 that is 1/8, a power of two, so scaling q first (timm) or the
 *                 scores after (BERT) gives bit-identical results.
 * @param mask     additive [B, 1, 1, S] (0 for real keys, float32's lowest value for padding), or null
 * @param points   the attention module's points (`declareAttentionPoints`)
 * @returns        context [B, H, S, D]
 */
export function attend(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  scale: number,
  mask: tf.Tensor4D | null,
  hooks: Hooks,
  points: AttentionPoints,
): tf.Tensor4D {
  // headwiseMatMul: one batched product, or the form the active backend's policy names (policy.ts).
  let scores: tf.Tensor4D = tf.mul(headwiseMatMul(q, k, true), scale); // [B, H, S, S]: query i · key j
  // Padding keys get float32's lowest value added, so after softmax's max-subtraction exp() underflows to
  // exactly 0: padded tokens receive no weight at all, whatever their number.
  if (mask !== null) scores = tf.add(scores, mask);
  scores = hooks.fire(points.scores, scores);
  const probs = hooks.fire(points.probs, tf.softmax(scores)); // each row sums to 1 over the keys
  return hooks.fire(points.context, headwiseMatMul(probs, v, false)); // [B, H, S, D]: weighted sum of values
}
