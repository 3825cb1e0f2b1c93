/**
 * Zero-shot scoring from embeddings, open_clip's way (and `biomedclip classify`'s): each class embedding is
 * the mean of the unit embeddings of all its prompts (every description in every template), renormalized;
 * an image's logit for a class is exp(logit_scale) · cosine, and its probabilities are the softmax over the
 * classes. Pure functions of the numbers, so the metrics can be checked on fixed embeddings.
 */
import { meanNormalized } from '../api/biomedclip.js';

/** [K, E] row-major: one unit embedding per class from its prompts' unit embeddings. */
export function classEmbeddings(promptEmbeddings: Float32Array[][], dim: number): Float32Array {
  const out = new Float32Array(promptEmbeddings.length * dim);
  promptEmbeddings.forEach((prompts, c) => out.set(meanNormalized(prompts), c * dim));
  return out;
}

/**
 * [n, K] row-major class probabilities of n images (unit rows of `images`, [n, E]) against K classes
 * (unit rows of `classes`, [K, E]), with logits scaled by `logitScale` = exp(logit_scale) (≈ 100).
 */
export function zeroShotProbabilities(images: Float32Array, classes: Float32Array, dim: number, logitScale: number): Float64Array {
  const n = images.length / dim;
  const k = classes.length / dim;
  const probs = new Float64Array(n * k);
  const logits = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += images[i * dim + j] * classes[c * dim + j];
      logits[c] = logitScale * dot;
      max = Math.max(max, logits[c]);
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += probs[i * k + c] = Math.exp(logits[c] - max); // minus max: no overflow
    for (let c = 0; c < k; c++) probs[i * k + c] /= sum;
  }
  return probs;
}
