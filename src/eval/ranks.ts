/**
 * Cross-modal retrieval ranks, as the BiomedCLIP paper evaluates them: every query (an image, or a caption)
 * is compared by cosine similarity with every candidate of the other modality in the test set, and the
 * rank of its correct match is recorded. Recall@K is the fraction of queries whose match ranks K or
 * better; the median rank is the median of the ranks.
 *
 * A query may have several correct candidates (an image with several captions): its rank is that of the
 * best-ranked one. Candidates with equal similarity are ordered by their position in the data, so the
 * ranks are deterministic; similarities within float32 rounding may still order differently on another
 * backend, as with any float ranking.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface RankInput {
  /** [q, E] row-major, L2-normalized rows (dot product = cosine). */
  queries: Float32Array;
  /** [g, E] row-major, L2-normalized rows. */
  candidates: Float32Array;
  dim: number;
  /** positives[i]: the candidate rows that are correct for query i (at least one). */
  positives: number[][];
}

/** Queries scored per matrix product: bounds the [chunk, g] score block held at once. */
const CHUNK = 256;

/** The 1-based rank of each query's best correct candidate (read asynchronously: it runs on WebGPU too). */
export async function retrievalRanks(input: RankInput): Promise<Int32Array> {
  const e = input.dim;
  const q = input.queries.length / e;
  const g = input.candidates.length / e;
  const ranks = new Int32Array(q);
  const candidates = tf.tensor2d(input.candidates, [g, e]);
  try {
    for (let start = 0; start < q; start += CHUNK) {
      const rows = Math.min(CHUNK, q - start);
      const block = tf.tidy(() => {
        const query = tf.tensor2d(input.queries.subarray(start * e, (start + rows) * e), [rows, e]);
        return tf.matMul(query, candidates, false, true); // [rows, g] cosines
      });
      const scores = (await block.data()) as Float32Array;
      block.dispose();
      for (let r = 0; r < rows; r++) ranks[start + r] = rankOfBest(scores.subarray(r * g, (r + 1) * g), input.positives[start + r]);
    }
  } finally {
    candidates.dispose();
  }
  return ranks;
}

/** Rank of the best of `positives` in `scores`: 1 + candidates scoring higher, or equal and listed earlier. */
export function rankOfBest(scores: ArrayLike<number>, positives: number[]): number {
  if (positives.length === 0) throw new Error('retrieval: a query without a correct candidate');
  let best = positives[0];
  for (const p of positives) if (scores[p] > scores[best] || (scores[p] === scores[best] && p < best)) best = p;
  const s = scores[best];
  let rank = 1;
  for (let j = 0; j < scores.length; j++) if (scores[j] > s || (scores[j] === s && j < best)) rank++;
  return rank;
}

export function recallAtK(ranks: ArrayLike<number>, k: number): number {
  let hits = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i] <= k) hits++;
  return hits / ranks.length;
}

/** The median (mean of the two middle ranks for an even count, as NumPy's median). */
export function medianRank(ranks: ArrayLike<number>): number {
  const sorted = Array.from(ranks).sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
