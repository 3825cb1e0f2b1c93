/**
 * INTERIM, to be deleted when src/inspect/ (issue 13: rollout, relevance, Grad-CAM, the logit lens, the
 * viridis colormap) lands on main; data.ts then calls those functions instead. Until then the viewer
 * computes here only what needs no gradients: attention rollout, the logit lens and the pair logits.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../host-tensor.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import { clipLogits } from '../model/head.js';
import { NO_HOOKS } from '../model/hooks.js';

/**
 * Attention rollout (Abnar & Zuidema 2020): Â_l = rownorm(mean_h A_l + I), J = Â_{L-1} ··· Â_0; returns
 * J's row [CLS]. `layers` are [1, H, S, S].
 */
export function rollout(layers: HostTensor[]): Float32Array {
  const [, heads, n] = layers[0].shape;
  let row = new Float64Array(n); // J's row 0, carried from the last layer down: row ← row · Â_l
  row[0] = 1;
  for (let l = layers.length - 1; l >= 0; l--) {
    const a = layers[l].data;
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (row[i] === 0) continue;
      // Â_l[i, :] = (mean_h A[h, i, :] + e_i) / 2: softmax rows sum to 1, so the row sum is 2.
      for (let j = 0; j < n; j++) {
        let mean = 0;
        for (let h = 0; h < heads; h++) mean += a[(h * n + i) * n + j] / heads;
        next[j] += (row[i] * (mean + (i === j ? 1 : 0))) / 2;
      }
    }
    row = next;
  }
  return Float32Array.from(row);
}

/**
 * The logit lens: each block's [CLS] ([1, S, W] outputs) through `visual.trunk.norm` and `visual.head.proj`,
 * scored against text features [N, E] as exp(logit_scale) · cosine. Returns [layer][text] cosines.
 */
export function lensCosines(model: BiomedCLIPModel, blocks: HostTensor[], textFeatures: Float32Array[]): number[][] {
  return tf.tidy(() => {
    const cls = tf.concat(blocks.map((b) => tf.tensor2d(b.data.subarray(0, b.shape[2]), [1, b.shape[2]]))); // [L, W]: token 0 of each
    const image = model.visual.head.proj.forward(model.visual.trunk.norm.forward(cls, NO_HOOKS), NO_HOOKS); // [L, E]
    const text = tf.tensor2d(textFeatures.map((t) => Array.from(t))); // [N, E]
    const unit = (x: tf.Tensor2D) => tf.div(x, tf.norm(x, 2, 1, true)) as tf.Tensor2D;
    return tf.matMul(unit(image), unit(text), false, true).arraySync() as number[][];
  });
}

/** exp(logit_scale) · cos for every image-text pair, [images][texts], through the model's CLIP head. */
export function pairLogits(model: BiomedCLIPModel, images: Float32Array[], texts: Float32Array[]): number[][] {
  return tf.tidy(() => clipLogits(tf.tensor2d(images.map((v) => Array.from(v))), tf.tensor2d(texts.map((v) => Array.from(v))), model.logit_scale).arraySync() as number[][]);
}

/**
 * viridis (matplotlib's default; CC0), 256 RGB bytes interpolated linearly from its values at tenths of
 * the range: within a few 8-bit levels of the full table, enough for an overlay.
 */
export function viridisLut(): Uint8Array {
  const stops = [
    [0.267004, 0.004874, 0.329415], [0.282623, 0.140926, 0.457517], [0.253935, 0.265254, 0.529983],
    [0.206756, 0.371758, 0.553117], [0.163625, 0.471133, 0.558148], [0.127568, 0.566949, 0.550556],
    [0.134692, 0.658636, 0.517649], [0.266941, 0.748751, 0.440573], [0.477504, 0.821444, 0.318195],
    [0.741388, 0.873449, 0.149561], [0.993248, 0.906157, 0.143936],
  ];
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(x));
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(255 * (stops[k][c] + (x - k) * (stops[k + 1][c] - stops[k][c])));
  }
  return lut;
}
