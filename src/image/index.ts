/**
 * Image preprocessing for BiomedCLIP, bit-identical to open_clip's Pillow + torchvision eval transform.
 * See docs/image.md for the decoders, the Pillow modes, the pixel limit and the 16-bit option.
 */
import { decodeInput } from './preprocess.js';
import { preprocessDecoded } from './preprocess-core.js';
import { DEFAULT_PREPROCESS, type ImageInput, type PreprocessConfig, type PreprocessOptions, type Preprocessed } from './types.js';

export type { ImageInput, PreprocessConfig, PreprocessOptions, Preprocessed, RawImage } from './types.js';
export { DEFAULT_PREPROCESS, OPENAI_MEAN, OPENAI_STD } from './types.js';
export { PILLOW_MAX_IMAGE_PIXELS } from './header.js';
export { checkImageInput, resolveDecoder } from './preprocess.js';

/**
 * Image file, encoded bytes or raw pixels -> `pixel_values` for the vision tower ([3, S, S] float32) plus
 * the uint8 crop. Throws UserError (one line naming the input and the problem) for unusable images.
 */
export async function preprocessImage(input: ImageInput, cfg: PreprocessConfig = DEFAULT_PREPROCESS, opts: PreprocessOptions = {}): Promise<Preprocessed> {
  const name = typeof input === 'string' ? input : input instanceof Uint8Array ? '<image bytes>' : '<raw image>';
  const img = await decodeInput(input, opts);
  return preprocessDecoded(img, cfg, opts, name);
}
