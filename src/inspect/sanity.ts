/**
 * Sanity checks for explanation maps: a map that does not change when the model's weights or the prompt
 * change explains neither the model nor the prompt. Each check takes `mapOf`, any function from a pair to
 * an image map (one value per patch), so it applies to every method.
 *
 * - Cascading randomisation (Adebayo et al. 2018): re-initialise the image tower top-down and correlate
 *   each map with the original (Spearman, signed and of absolute values). A faithful method's
 *   correlation drops as trained weights disappear; one that stays high reflects the image, not the model.
 * - Deletion and insertion (Petsiuk et al. 2018, "RISE"): remove the patches (set to 0 in normalised
 *   pixels, i.e. the dataset mean colour) in descending saliency, or insert them into a blurred copy, and
 *   follow the target's score; the area under the curve should be lower (deletion) or higher (insertion)
 *   than for a random order.
 * - Prompt sensitivity: rank correlation of the map for the text with the maps for an unrelated text and
 *   for the text's words shuffled. Attention and rollout never look at the text: theirs is exactly 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import type { PairInputs } from './probe.js';
import { imageCascade, randomize } from './randomize.js';
import { auc, shuffled, spearman } from './stats.js';

export type MapOf = (inputs: PairInputs) => Promise<Float32Array>;

export interface RandomizationRow {
  /** The modules re-initialised so far end with this one. */
  step: string;
  spearman: number;
  spearmanAbs: number;
}

/** Maps after each cumulative re-initialisation step, against the trained model's map. */
export async function cascadingRandomization(model: BiomedCLIPModel, pair: PairInputs, mapOf: MapOf, seed = 0): Promise<RandomizationRow[]> {
  const original = await mapOf(pair);
  const abs = (m: Float32Array) => m.map(Math.abs);
  const restores: Array<() => void> = [];
  const rows: RandomizationRow[] = [];
  try {
    for (const [i, step] of imageCascade(model).entries()) {
      restores.push(randomize(step.slots, seed + 1000 * i));
      const map = await mapOf(pair);
      rows.push({ step: step.name, spearman: spearman(original, map), spearmanAbs: spearman(abs(original), abs(map)) });
    }
  } finally {
    for (const restore of restores.reverse()) restore();
  }
  return rows;
}

export interface Curve {
  /** 'probability': the target's softmax over the labels; 'logit' when there is only one text. */
  metric: 'probability' | 'logit';
  /** Score after 0, step, 2·step, ..., all patches removed (deletion) or inserted (insertion). */
  curve: number[];
  auc: number;
  randomCurve: number[];
  randomAuc: number;
}

export interface CurveOptions {
  /** Patches removed or inserted per step (default 1: one point per patch, as the issue asks). */
  step?: number;
  /** Seed of the random order. */
  seed?: number;
  /** Images per forward pass (default 16). */
  batchSize?: number;
  /** Called with the number of images each forward batch scored (for a progress bar). */
  onImages?: (n: number) => void;
}

/** Separable Gaussian blur of [3, S, S] pixels (σ = 5 px, 11 taps, zero padding: RISE's substrate). */
export function blur(pixels: Float32Array, size: number, sigma = 5, taps = 11): Float32Array {
  const half = Math.floor(taps / 2);
  const kernel = Array.from({ length: taps }, (_, i) => Math.exp(-((i - half) ** 2) / (2 * sigma * sigma)));
  const sum = kernel.reduce((a, b) => a + b);
  const k = kernel.map((v) => v / sum);
  const pass = (src: Float32Array, horizontal: boolean) => {
    const out = new Float32Array(src.length);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          let acc = 0;
          for (let t = -half; t <= half; t++) {
            const [xx, yy] = horizontal ? [x + t, y] : [x, y + t];
            if (xx >= 0 && xx < size && yy >= 0 && yy < size) acc += k[t + half] * src[(c * size + yy) * size + xx];
          }
          out[(c * size + y) * size + x] = acc;
        }
      }
    }
    return out;
  };
  return pass(pass(pixels, true), false);
}

/** Copies patch `p` (row-major in the grid) of `from` into `into`, both [3, S, S]. */
function copyPatch(into: Float32Array, from: Float32Array | number, p: number, size: number, patch: number): void {
  const grid = size / patch;
  const [r, c] = [Math.floor(p / grid), p % grid];
  for (let ch = 0; ch < 3; ch++) {
    for (let y = r * patch; y < (r + 1) * patch; y++) {
      for (let x = c * patch; x < (c + 1) * patch; x++) {
        const i = (ch * size + y) * size + x;
        into[i] = typeof from === 'number' ? from : from[i];
      }
    }
  }
}

/**
 * The fewest points a deletion or insertion curve may have (0 and all patches included). Its AUC is a
 * trapezoid sum compared with a random order's: with 2 or 3 points both areas are one or two chords
 * between nearly the same end scores, so "NOT better than random" would be a coin toss reported as a
 * finding. 10 points (one per ~11% of the patches at most) keep the check a check.
 */
export const MIN_CURVE_POINTS = 10;

/** The largest step that leaves MIN_CURVE_POINTS points over `patches` patches (1 when even step 1 cannot). */
export function maxCurveStep(patches: number): number {
  // ceil(patches / step) + 1 points; it is ≥ MIN_CURVE_POINTS exactly when step < patches / (MIN − 2).
  return Math.max(1, Math.ceil(patches / (MIN_CURVE_POINTS - 2)) - 1);
}

/** A step in [1, maxCurveStep(patches)], or a UserError (exit 2) naming the largest allowed and why. */
export function checkCurveStep(step: number, patches: number): void {
  const max = maxCurveStep(patches);
  if (!Number.isInteger(step) || step < 1 || step > max) {
    const points = Number.isInteger(step) && step >= 1 ? `; ${step} leaves ${Math.ceil(patches / step) + 1}` : '';
    throw new UserError(
      `--step ${step}: expected an integer from 1 to ${max} (a curve over ${patches} patches needs at least ${MIN_CURVE_POINTS} points for its AUC to tell the saliency order from a random one${points})`,
      2,
    );
  }
}

/** Images a deletion + insertion run scores: every count, for the saliency order and a random one, twice. */
export function curveImages(patches: number, step: number): number {
  return 4 * (Math.ceil(patches / step) + 1);
}

/**
 * Deletion and insertion curves of one image against text features [N, E] (the target's row `target`):
 * for the saliency order (descending, ties by patch index) and one seeded random order.
 */
export async function deletionInsertion(
  model: BiomedCLIPModel,
  pixels: tf.Tensor4D,
  textFeatures: tf.Tensor2D,
  target: number,
  saliency: ArrayLike<number>,
  opts: CurveOptions = {},
): Promise<{ deletion: Curve; insertion: Curve }> {
  const { imageSize: size, patchSize: patch } = model.config.vision;
  const original = (await pixels.data()) as Float32Array;
  const blurred = blur(original, size);
  const patches = saliency.length;
  const step = opts.step ?? 1;
  checkCurveStep(step, patches);
  const counts = [...Array(Math.ceil(patches / step) + 1).keys()].map((k) => Math.min(patches, k * step));
  const byScore = [...Array(patches).keys()].sort((a, b) => saliency[b] - saliency[a] || a - b);
  const random = shuffled([...Array(patches).keys()], opts.seed ?? 0);
  const metric = textFeatures.shape[0] > 1 ? 'probability' : 'logit';

  /** Scores of the images made by `make(k)` for every count k. */
  const scores = async (make: (order: number[], k: number) => Float32Array, order: number[]): Promise<number[]> => {
    const out: number[] = [];
    const batch = opts.batchSize ?? 16;
    for (let start = 0; start < counts.length; start += batch) {
      const chunk = counts.slice(start, start + batch);
      const data = new Float32Array(chunk.length * original.length);
      chunk.forEach((k, i) => data.set(make(order, k), i * original.length));
      const s = tf.tidy(() => {
        const logits = model.logits(model.encodeImage(tf.tensor4d(data, [chunk.length, 3, size, size])), textFeatures); // [B, N]
        const scored = metric === 'probability' ? tf.softmax(logits) : logits;
        return tf.reshape(tf.slice(scored, [0, target], [-1, 1]), [-1]);
      });
      out.push(...(await s.data()));
      s.dispose();
      opts.onImages?.(chunk.length);
    }
    return out;
  };
  const deleted = (order: number[], k: number) => {
    const img = original.slice();
    for (const p of order.slice(0, k)) copyPatch(img, 0, p, size, patch);
    return img;
  };
  const inserted = (order: number[], k: number) => {
    const img = blurred.slice();
    for (const p of order.slice(0, k)) copyPatch(img, original, p, size, patch);
    return img;
  };
  const curve = async (make: typeof deleted): Promise<Curve> => {
    const [c, r] = [await scores(make, byScore), await scores(make, random)];
    return { metric, curve: c, auc: auc(c), randomCurve: r, randomAuc: auc(r) };
  };
  return { deletion: await curve(deleted), insertion: await curve(inserted) };
}

/** The words of `text` in a seeded random order different from the original, or null if none exists. */
export function shuffleWords(text: string, seed = 0): string | null {
  const words = text.split(/\s+/).filter((w) => w !== '');
  for (let attempt = 0; attempt < 20; attempt++) {
    const candidate = shuffled(words, seed + attempt).join(' ');
    if (candidate !== words.join(' ')) return candidate;
  }
  return null;
}

export interface PromptRow {
  kind: 'unrelated' | 'shuffled';
  text: string;
  spearman: number;
}

/** Rank correlation of the map for `pair` with the maps for the same image and each other text's ids. */
export async function promptSensitivity(
  pair: PairInputs,
  others: Array<{ kind: PromptRow['kind']; text: string; ids: tf.Tensor2D }>,
  mapOf: MapOf,
): Promise<PromptRow[]> {
  const original = await mapOf(pair);
  const rows: PromptRow[] = [];
  for (const o of others) rows.push({ kind: o.kind, text: o.text, spearman: spearman(original, await mapOf({ pixels: pair.pixels, ids: o.ids })) });
  return rows;
}
