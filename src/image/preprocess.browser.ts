/**
 * preprocess.ts in the page (swapped in by scripts/build_client.ts): no file paths and no sharp, so every
 * image is bytes or raw pixels and PNG and JPEG go through the pure-JS decoders: the CLI's `--decoder js`.
 */
import { UserError } from '../errors.js';
import { PILLOW_MAX_IMAGE_PIXELS, readHeader } from './header.js';
import type { PilImage } from './modes.js';
import { decodeBytes, fromRaw, isRawImage } from './preprocess-core.js';
import type { ImageInput, PreprocessOptions } from './types.js';

const NO_FILES = 'a web page cannot open files by path; pass the image bytes (a dropped or picked file)';

export async function resolveDecoder(choice: PreprocessOptions['decoder'] = 'auto'): Promise<'sharp' | 'js'> {
  if (choice === 'sharp') throw new UserError('sharp (libvips) does not run in a web page; use the pure-JS decoders (decoder: js)');
  return 'js';
}

export async function decodeInput(input: ImageInput, opts: PreprocessOptions): Promise<PilImage> {
  const maxPixels = opts.maxPixels ?? PILLOW_MAX_IMAGE_PIXELS;
  if (isRawImage(input)) return fromRaw(input, maxPixels);
  if (typeof input === 'string') throw new UserError(`${input}: ${NO_FILES}`);
  await resolveDecoder(opts.decoder);
  return decodeBytes(input, '<image bytes>', maxPixels, null);
}

export async function checkImageInput(input: ImageInput, opts: PreprocessOptions = {}): Promise<void> {
  const maxPixels = opts.maxPixels ?? PILLOW_MAX_IMAGE_PIXELS;
  if (isRawImage(input)) return void fromRaw(input, maxPixels);
  if (typeof input === 'string') throw new UserError(`${input}: ${NO_FILES}`);
  readHeader(input, '<image bytes>', maxPixels);
}
