/**
 * Running a tower many times with one thing changed (a head ablated, an activation patched) recomputes
 * everything before the change for nothing. These helpers capture the residual stream of one run and
 * resume the image tower from block `from` for a batch of variants, the way TransformerLens's
 * `start_at_layer` does: an edit inside block l only needs blocks l..L-1, the final norm and the head.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { Hooks, type EditFn } from '../model/hooks.js';

export type Tower = 'image' | 'text';

/**
 * The residual stream entering each ViT block of one image [1, 3, S, S] (entry l = output of block
 * l - 1; entry 0 is undefined: the embeddings are not a hook point, so block 0 resumes from the pixels).
 * The caller disposes the tensors.
 */
export function residualStream(model: BiomedCLIPModel, pixels: tf.Tensor4D): Array<tf.Tensor3D | undefined> {
  const outputs = model.visual.trunk.blocks.slice(0, -1).map((block) => block.point.name); // entering blocks 1..L-1
  const hooks = new Hooks({ capture: outputs });
  tf.tidy(() => {
    model.encodeImage(pixels, hooks);
  });
  return [undefined, ...outputs.map((name) => hooks.captured.get(name) as tf.Tensor3D)];
}

/**
 * Image features [B, E] of `batch` copies of one image, with `edits` applied, computing only blocks
 * `from`..L-1 when the residual stream entering block `from` is given ([1, S, W], tiled to the batch).
 */
export function imageFeaturesFrom(
  model: BiomedCLIPModel,
  pixels: tf.Tensor4D,
  stream: Array<tf.Tensor3D | undefined>,
  from: number,
  batch: number,
  edits: Array<{ pattern: string; fn: EditFn }>,
): tf.Tensor2D {
  const hooks = new Hooks({ edits });
  const entering = stream[from];
  if (entering === undefined) return model.encodeImage(tf.tile(pixels, [batch, 1, 1, 1]) as tf.Tensor4D, hooks);
  return model.visual.forwardFrom(tf.tile(entering, [batch, 1, 1]) as tf.Tensor3D, from, hooks); // [1, S, W] -> [B, S, W] -> [B, E]
}

/** Logits [B] of `imageFeatures` [B, E] against one text's features [1, E]. */
export function logitsAgainst(model: BiomedCLIPModel, imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(model.logits(imageFeatures, textFeatures), [-1]) as tf.Tensor1D;
}
