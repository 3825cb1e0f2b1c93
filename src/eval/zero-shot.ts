/**
 * Zero-shot scoring from embeddings, open_clip's way (and `biomedclip classify`'s): each class embedding is
 * the mean of the unit embeddings of all its prompts (every description in every template), renormalized;
 * an image's logit for a class is exp(logit_scale) · cosine, and its probabilities are the softmax over the
 * classes. Functions of the numbers alone, so the metrics can be checked on fixed embeddings.
 */
import * as tf from '@tensorflow/tfjs-core';
import { meanNormalized } from '../embed/embed.js';
import { clipLogits, zeroShotProbs } from '../model/head.js';

/** [K, E] row-major: one unit embedding per class from its prompts' unit embeddings. */
export function classEmbeddings(promptEmbeddings: Float32Array[][], dim: number): Float32Array {
  const out = new Float32Array(promptEmbeddings.length * dim);
  promptEmbeddings.forEach((prompts, c) => out.set(meanNormalized(prompts), c * dim));
  return out;
}

/**
 * [n, K] row-major class probabilities of n images (unit rows of `images`, [n, E]) against K classes
 * (unit rows of `classes`, [K, E]), through the model's own CLIP head (head.ts): logits exp(logit_scale) ·
 * cosine, with `logitScale` = exp(logit_scale) (≈ 100), then the softmax over the classes.
 */
export async function zeroShotProbabilities(images: Float32Array, classes: Float32Array, dim: number, logitScale: number): Promise<Float64Array> {
  const probs = tf.tidy(() => {
    const [n, k] = [images.length / dim, classes.length / dim];
    return zeroShotProbs(clipLogits(tf.tensor2d(images, [n, dim]), tf.tensor2d(classes, [k, dim]), tf.scalar(Math.log(logitScale)))); // [n, K]
  });
  try {
    return Float64Array.from(await probs.data());
  } finally {
    probs.dispose();
  }
}
