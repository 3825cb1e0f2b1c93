/**
 * The image pipeline in Node: preprocess-core.ts (pure JS, browser-safe) plus what only Node has, file paths
 * and sharp (libvips) as the decoder for PNG and JPEG. This file is the one seam: nothing else in src/image
 * imports node: modules or sharp.
 */
import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { decodeWithJs } from './decode-js.js';
import { decodeWithSharp, loadSharp } from './decode-sharp.js';
import { PILLOW_MAX_IMAGE_PIXELS, readHeader } from './header.js';
import type { PilImage } from './modes.js';
import { decodeBytes, fromRaw, isRawImage, type NativeDecoder } from './preprocess-core.js';
import type { ImageInput, PreprocessOptions } from './types.js';

/** The decoder that will actually run for `choice` ('auto' prefers sharp and falls back to JS). */
export async function resolveDecoder(choice: PreprocessOptions['decoder'] = 'auto'): Promise<'sharp' | 'js'> {
  if (choice === 'js') return 'js';
  const available = (await loadSharp()) !== null;
  if (choice === 'sharp' && !available) {
    throw new UserError('sharp cannot load on this platform (native binary missing); use --decoder js');
  }
  return available ? 'sharp' : 'js';
}

/** Decodes any accepted input into the image Pillow would hold after Image.open + load. */
export async function decodeInput(input: ImageInput, opts: PreprocessOptions): Promise<PilImage> {
  const maxPixels = opts.maxPixels ?? PILLOW_MAX_IMAGE_PIXELS;
  if (isRawImage(input)) return fromRaw(input, maxPixels);
  const name = typeof input === 'string' ? input : '<image bytes>';
  const bytes = typeof input === 'string' ? await readImageFile(input) : input;
  // Asked only for PNG and JPEG, after the header (and pixel limit) checks: BMP and GIF never load sharp.
  const pngOrJpeg: NativeDecoder = async (b, header, n) =>
    (await resolveDecoder(opts.decoder)) === 'sharp' ? decodeWithSharp(b, header, n) : decodeWithJs(b, header, n);
  return decodeBytes(bytes, name, maxPixels, pngOrJpeg);
}

/**
 * Reads `input` and checks its header (format, size, the pixel limit) without decoding the pixels: what a
 * command runs on all its inputs before any model work, so that a bad last image fails in a second
 * instead of after every other image's work. Throws the UserError decoding would throw for the same fault.
 */
export async function checkImageInput(input: ImageInput, opts: PreprocessOptions = {}): Promise<void> {
  const maxPixels = opts.maxPixels ?? PILLOW_MAX_IMAGE_PIXELS;
  if (isRawImage(input)) {
    fromRaw(input, maxPixels);
    return;
  }
  const name = typeof input === 'string' ? input : '<image bytes>';
  readHeader(typeof input === 'string' ? await readImageFile(input) : input, name, maxPixels);
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new UserError(`${path}: cannot read image file (${code}); check the path`);
  }
}
