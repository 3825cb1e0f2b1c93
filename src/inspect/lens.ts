/**
 * The logit lens (nostalgebraist 2020) for the image tower: read each block's residual stream as if it
 * were the last, through the trunk's final LayerNorm and the projection head, and score it against the
 * text. It shows at which depth the image embedding starts to agree with a prompt. Only the final block's
 * reading is what the model was trained to produce; earlier readings are off-distribution for the head,
 * so compare their trend across layers rather than their absolute values.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { l2Normalize } from '../model/head.js';
import { Hooks, NO_HOOKS } from '../model/hooks.js';

/** How a block's tokens become one vector: [CLS], as BiomedCLIP's trunk pools, or the token mean. */
export type Pool = 'cls' | 'mean';

/** [B, S, W] residual stream -> [B, E] image features, as if the trunk ended here. */
export function lensFeatures(model: BiomedCLIPModel, tokens: tf.Tensor3D, pool: Pool = 'cls'): tf.Tensor2D {
  // A reading, not the model's forward pass: the norm and head publish no hook points here (NO_HOOKS).
  // [CLS] pooling is the tower's own tail: resume it after its last block.
  if (pool === 'cls') return model.visual.forwardFrom(tokens, model.visual.trunk.blocks.length, NO_HOOKS); // [B, E]
  const pooled = tf.mean(tokens, 1) as tf.Tensor2D; // [B, W]: the mean token, which the tower never forms
  return model.visual.head.proj.forward(model.visual.trunk.norm.forward(pooled, NO_HOOKS), NO_HOOKS); // [B, E]
}

export interface LensRow {
  /** Block index; its reading is `visual.trunk.blocks.{layer}` through norm and head. */
  layer: number;
  /** Cosine with each text, in the order given. */
  cosine: number[];
  /** exp(logit_scale) · cosine with each text. */
  logit: number[];
}

/**
 * One forward pass of one image ([1, 3, S, S]) capturing every block's output; returns each block's
 * reading against the given unnormalized text features [N, E].
 */
export async function logitLens(model: BiomedCLIPModel, pixels: tf.Tensor4D, textFeatures: tf.Tensor2D, pool: Pool = 'cls'): Promise<LensRow[]> {
  const blocks = model.visual.trunk.blocks.map((block) => block.point.name);
  const layers = blocks.length;
  const hooks = new Hooks({ capture: blocks });
  try {
    tf.tidy(() => {
      model.encodeImage(pixels, hooks);
    });
    const scale = Math.exp((await model.logit_scale.data())[0]);
    const cos = tf.tidy(() => {
      const readings = blocks.map((name) => lensFeatures(model, hooks.captured.get(name) as tf.Tensor3D, pool));
      return tf.matMul(l2Normalize(tf.concat(readings, 0)), l2Normalize(textFeatures), false, true); // [L, N]
    });
    const values = (await cos.data()) as Float32Array;
    cos.dispose();
    const n = textFeatures.shape[0];
    return [...Array(layers).keys()].map((layer) => {
      const cosine = Array.from(values.subarray(layer * n, (layer + 1) * n));
      return { layer, cosine, logit: cosine.map((c) => scale * c) };
    });
  } finally {
    hooks.dispose();
  }
}
