/**
 * The CLIP head on host vectors: what `similarity`, `scoreLabels` and `classify` return. The embeddings go
 * to the backend as two matrices, the model's own head (src/model/head.ts) computes exp(logit_scale) ·
 * cosine and, for zero-shot scores, the softmax over the labels, and only plain numbers come back; no
 * tensor outlives the call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { clipLogits, zeroShotProbs } from '../model/head.js';

export interface LabelScore {
  label: string;
  probability: number;
  logit: number;
}

/**
 * [A, B] logits of the rows of `a` against the rows of `b`, and their softmax over B if asked.
 * `logitScale` is the model's raw logit_scale parameter (the head exponentiates it).
 */
export async function hostHead(
  a: Float32Array[],
  b: Float32Array[],
  logitScale: tf.Tensor,
  withProbs: boolean,
): Promise<{ logits: number[][]; probs?: number[][] }> {
  if (a.length === 0 || b.length === 0) return { logits: a.map(() => []), probs: a.map(() => []) };
  const rows = (v: Float32Array[]) => tf.tensor2d(concatRows(v), [v.length, v[0].length]);
  const out = tf.tidy(() => {
    const logits = clipLogits(rows(a), rows(b), logitScale); // [A, B]
    return withProbs ? [logits, zeroShotProbs(logits)] : [logits];
  });
  try {
    const [logits, probs] = await Promise.all(out.map((t) => t.array() as Promise<number[][]>));
    return { logits, probs };
  } finally {
    tf.dispose(out);
  }
}

/** Each image's row of logits and probabilities as label scores, most probable first. */
export function rankLabels(logits: number[][], probs: number[][], labels: string[]): LabelScore[][] {
  return logits.map((row, i) => labels.map((label, j) => ({ label, probability: probs[i][j], logit: row[j] })).sort((a, b) => b.probability - a.probability));
}

/**
 * The softmax of one row of logits already on the host (the logit lens, live head ablation), in float64:
 * what zeroShotProbs computes on the backend, without a round trip for a handful of numbers.
 */
export function softmaxRow(logits: readonly number[]): number[] {
  const top = Math.max(...logits); // subtracted first, so exp never overflows
  const e = logits.map((l) => Math.exp(l - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

function concatRows(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * rows[0].length);
  rows.forEach((r, i) => out.set(r, i * r.length));
  return out;
}
