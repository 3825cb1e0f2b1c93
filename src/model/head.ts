/**
 * The CLIP head: both features are L2-normalized onto the unit sphere, so their dot product is a cosine
 * similarity; a learned temperature exp(logit_scale) (≈ 100 when trained) sharpens it into logits, and a
 * softmax over the texts turns one image's logits into zero-shot probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';

/** x / max(‖x‖₂, 1e-12) along the last axis, as torch.nn.functional.normalize does (the eps only guards 0). */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
  return tf.div(x, tf.maximum(norm, 1e-12)) as T;
}

/**
 * [B, E] image features, [N, E] text features (unnormalized) -> [B, N] logits_per_image.
 * `logitScale` is the raw parameter; open_clip applies exp() at inference and no clamp.
 */
export function clipLogits(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D, logitScale: tf.Tensor): tf.Tensor2D {
  const img = l2Normalize(imageFeatures);
  const txt = l2Normalize(textFeatures);
  const scale = tf.exp(tf.reshape(logitScale, []));
  return tf.mul(scale, tf.matMul(img, txt, false, true)) as tf.Tensor2D; // [B, N]
}

/** Zero-shot probabilities: softmax over the texts (the last axis) for each image. */
export function zeroShotProbs(logitsPerImage: tf.Tensor2D): tf.Tensor2D {
  return tf.softmax(logitsPerImage);
}
