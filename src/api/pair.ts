/**
 * One image and one text as the batch-1 model inputs the explanation methods take (src/inspect/): the
 * preprocessed pixels, the unpadded token ids, and what pictures and tables show (the crop, the tokens).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ImageInput, PreprocessConfig, PreprocessOptions } from '../image/index.js';
import { preprocessImage } from '../image/index.js';
import type { HostPair } from '../inspect/explain.js';
import type { PairInputs } from '../inspect/probe.js';
import type { Encoding } from '../tokenizer/tokenizer.js';

export interface Pair extends PairInputs {
  /** [S, S, 3] RGB bytes: the crop the model saw. */
  crop: Uint8Array;
  /** The text's WordPieces, [CLS] ... [SEP]. */
  tokens: string[];
}

/** What a pair needs from a model (BiomedCLIP has it): its preprocessing and its tokenizer. */
export interface PairSource {
  readonly config: { preprocess: PreprocessConfig };
  tokenize(texts: string[]): Encoding;
  /** The caller's options with the model's own defaults (its --max-pixels) filled in. */
  preprocessOptions(opts: PreprocessOptions): PreprocessOptions;
}

/** The pair as host arrays (what a pool worker receives), with the crop and the tokens. */
export async function hostPair(
  clip: PairSource,
  image: ImageInput,
  text: string,
  opts: PreprocessOptions = {},
): Promise<HostPair & Pick<Pair, 'crop' | 'tokens'>> {
  const p = await preprocessImage(image, clip.config.preprocess, clip.preprocessOptions(opts));
  const enc = clip.tokenize([text]); // one text: padded to its own length, so no [PAD]
  const s = clip.config.preprocess.imageSize;
  return {
    pixels: { shape: [1, 3, s, s], data: p.pixelValues },
    ids: { shape: [1, enc.inputIds[0].length], data: Int32Array.from(enc.inputIds[0]) },
    crop: p.crop,
    tokens: enc.tokens[0],
  };
}

/** The caller disposes `pixels` and `ids` (`disposePair`). */
export async function pairInputs(clip: PairSource, image: ImageInput, text: string, opts: PreprocessOptions = {}): Promise<Pair> {
  const h = await hostPair(clip, image, text, opts);
  return {
    pixels: tf.tensor4d(h.pixels.data, h.pixels.shape as [number, number, number, number]),
    ids: tf.tensor2d(h.ids.data, h.ids.shape as [number, number], 'int32'),
    crop: h.crop,
    tokens: h.tokens,
  };
}

export function disposePair(pair: PairInputs): void {
  tf.dispose([pair.pixels, pair.ids]);
}
