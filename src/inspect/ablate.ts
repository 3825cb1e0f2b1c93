/**
 * Head ablation: how much the pair's logit moves when one attention head of one layer is switched off.
 *
 * Both edit the head's context (`….context` [B, H, S, D], Σ_j A_ij v_j for query i, before the heads are
 * merged and projected):
 * - zero-ablation: the head's context is 0 for every query (the head then contributes nothing).
 * - mean-ablation: every query's context is replaced by the mean context over the query positions of
 *   this input, keeping the head's average contribution but removing what depends on the token.
 * Zero-ablation takes the model off its training distribution; mean-ablation much less (Wang et al.
 * 2022, "Interpretability in the Wild"). All heads of a layer run as one batch; the image tower resumes
 * from the ablated block (resume.ts), so a full table costs about half the forward passes it counts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { Hooks } from '../model/hooks.js';
import { attentionModule, type PairInputs } from './probe.js';
import { imageFeaturesFrom, logitsAgainst, residualStream, type Tower } from './resume.js';

export type AblationMode = 'zero' | 'mean';
export const ABLATION_MODES: AblationMode[] = ['zero', 'mean'];

export interface HeadAblation {
  tower: Tower;
  mode: AblationMode;
  /** The unablated logit. */
  logit: number;
  /** delta[layer][head] = ablated logit − unablated logit. */
  delta: number[][];
}

/** x [B, H, S, X] with the heads whose `keep` ([B or 1, H, 1, 1]) is 0 zeroed, or set to their mean over queries. */
function ablateMasked(x: tf.Tensor, keep: tf.Tensor, mode: AblationMode): tf.Tensor {
  const kept = tf.mul(x, keep);
  if (mode === 'zero') return kept;
  return tf.add(kept, tf.mul(tf.mean(x, 2, true), tf.sub(1, keep))); // mean over queries, broadcast back
}

/**
 * x [B, H, S, X] (per-head contexts, or attention probabilities) with head `heads[b]` ablated in batch
 * item b: zeroed, or replaced along the query axis by its mean over that axis.
 */
export function ablateHeadPerItem(x: tf.Tensor, heads: number[], mode: AblationMode): tf.Tensor {
  const [b, h] = x.shape;
  const keep = new Float32Array(b * h).fill(1);
  heads.forEach((head, item) => (keep[item * h + head] = 0));
  return ablateMasked(x, tf.tensor4d(keep, [b, h, 1, 1]), mode);
}

/** x [B, H, S, X] with every head in `heads` ablated in every batch item (the explorer's head switches). */
export function ablateHeadsInAll(x: tf.Tensor, heads: readonly number[], mode: AblationMode): tf.Tensor {
  const [, h] = x.shape;
  const keep = new Float32Array(h).fill(1);
  heads.forEach((head) => (keep[head] = 0));
  return ablateMasked(x, tf.tensor4d(keep, [1, h, 1, 1]), mode);
}

/** The ablation table of one tower: every (layer, head), for one mode. */
export async function ablateHeads(model: BiomedCLIPModel, inputs: PairInputs, tower: Tower, mode: AblationMode): Promise<HeadAblation> {
  const cfg = tower === 'image' ? model.config.vision : model.config.text;
  const heads = [...Array(cfg.heads).keys()];
  const [imageFeatures, textFeatures] = tf.tidy(() => [model.encodeImage(inputs.pixels), model.encodeText(inputs.ids)]);
  const stream = tower === 'image' ? residualStream(model, inputs.pixels) : [];
  try {
    const clean = tf.tidy(() => logitsAgainst(model, imageFeatures, textFeatures));
    const logit = (await clean.data())[0];
    clean.dispose();
    const delta: number[][] = [];
    for (let layer = 0; layer < cfg.layers; layer++) {
      const edits = [{ pattern: attentionModule(model, tower, layer).context.name, fn: (x: tf.Tensor) => ablateHeadPerItem(x, heads, mode) }];
      const logits = tf.tidy(() => {
        if (tower === 'image') return logitsAgainst(model, imageFeaturesFrom(model, inputs.pixels, stream, layer, heads.length, edits), textFeatures);
        const ids = tf.tile(inputs.ids, [heads.length, 1]) as tf.Tensor2D;
        return tf.reshape(model.logits(imageFeatures, model.encodeText(ids, new Hooks({ edits }))), [-1]);
      });
      delta.push(Array.from(await logits.data(), (v) => v - logit));
      logits.dispose();
    }
    return { tower, mode, logit, delta };
  } finally {
    tf.dispose([imageFeatures, textFeatures, ...stream.filter((t): t is tf.Tensor3D => t !== undefined)]);
  }
}
