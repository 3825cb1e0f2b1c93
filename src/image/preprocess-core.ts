/**
 * open_clip's eval transform for BiomedCLIP, step by step, on plain typed arrays:
 *
 *   decode (Pillow mode kept) -> Resize(224, BICUBIC) -> CenterCrop(224) -> convert('RGB') -> ToTensor -> Normalize
 *
 * The order is the point: torchvision resizes the image in the mode the file opened in, and only then does
 * open_clip convert to RGB. Resize and crop are fused (we compute only the crop's pixels; see resample.ts).
 *
 * This file and everything it imports need neither Node nor sharp: encoded bytes go through our own decoders
 * (PNG, BMP, GIF) and jpeg-js, so a browser bundle can take it whole (`preprocessPixels`). preprocess.ts is
 * the Node seam on top: file paths, and sharp as the decoder for PNG and JPEG when its native binary loads.
 */
import { UserError } from '../errors.js';
import { centerCropWindow, resizedSize } from './crop.js';
import { decodeBmp } from './bmp.js';
import { decodeWithJs } from './decode-js.js';
import { decodeGif } from './gif.js';
import { PILLOW_MAX_IMAGE_PIXELS, readHeader } from './header.js';
import { premultiply, range, rescaleToL, toRGB, unpremultiply, type PilImage } from './modes.js';
import { normalizeToCHW } from './normalize.js';
import { resizeBicubic, resizeNearest, type OutputWindow, type Raster } from './resample.js';
import { DEFAULT_PREPROCESS, type ImageHeader, type PreprocessConfig, type PreprocessOptions, type Preprocessed, type RawImage } from './types.js';

/** Decodes a PNG or JPEG file whose header has been read (in Node, preprocess.ts's choice of sharp or JS). */
export type NativeDecoder = (bytes: Uint8Array, header: ImageHeader, name: string) => Promise<PilImage>;

/**
 * Encoded bytes or raw pixels -> the transform's output, with the pure-JS decoders: what a page calls.
 * `opts.decoder` 'sharp' is refused (there is no sharp here); 'auto' means 'js'.
 */
export async function preprocessPixels(
  input: Uint8Array | RawImage,
  cfg: PreprocessConfig = DEFAULT_PREPROCESS,
  opts: PreprocessOptions = {},
): Promise<Preprocessed> {
  if (opts.decoder === 'sharp') throw new UserError("sharp is not part of the pure-JS image pipeline; use decoder 'js' (or 'auto')");
  const maxPixels = opts.maxPixels ?? PILLOW_MAX_IMAGE_PIXELS;
  const raw = isRawImage(input);
  const img = raw ? fromRaw(input, maxPixels) : await decodeBytes(input, '<image bytes>', maxPixels, null);
  return preprocessDecoded(img, cfg, opts, raw ? '<raw image>' : '<image bytes>');
}

/**
 * Encoded bytes -> the image Pillow would hold after Image.open + load. `native` decodes PNG and JPEG when
 * given; null means the pure-JS decoders.
 */
export async function decodeBytes(bytes: Uint8Array, name: string, maxPixels: number, native: NativeDecoder | null): Promise<PilImage> {
  const header = readHeader(bytes, name, maxPixels);
  // BMP and GIF have our own decoders, exact with either choice (libvips has no BMP loader, and decodes GIF
  // to composited RGBA, losing the palette index Pillow keeps).
  if (header.format === 'bmp') return decodeBmp(bytes, name);
  if (header.format === 'gif') return decodeGif(bytes, name);
  return native === null ? decodeWithJs(bytes, header, name) : native(bytes, header, name);
}

export function isRawImage(input: unknown): input is RawImage {
  return typeof input === 'object' && input !== null && !(input instanceof Uint8Array) && 'channels' in input;
}

/** Raw pixels: 1 channel is Pillow's L, 3 is RGB, 4 is RGBA (so alpha is premultiplied for the resize). */
export function fromRaw(raw: RawImage, maxPixels: number): PilImage {
  const { width, height, channels } = raw;
  const modes = { 1: 'L', 3: 'RGB', 4: 'RGBA' } as const;
  const mode = modes[channels];
  if (mode === undefined) throw new UserError(`raw image: channels must be 1, 3 or 4, got ${String(channels)}`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new UserError(`raw image: width and height must be positive integers, got ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw new UserError(`raw image: ${width}x${height} is above the limit of ${maxPixels} pixels`);
  }
  if (raw.data.length !== width * height * channels) {
    throw new UserError(`raw image: data has ${raw.data.length} bytes, expected ${width}x${height}x${channels} = ${width * height * channels}`);
  }
  const data = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length);
  return { mode, width, height, bands: channels, data };
}

/** The default for `opts.onWarning`: one line on stderr in Node, the console in a page. */
function printWarning(message: string): void {
  console.warn(`biomedclip: warning: ${message}`);
}

/**
 * Mode I (16-bit gray) as Pillow would treat it, or rescaled on request. Pillow's convert('RGB') clips each
 * value to 0..255, so a CT or MR image (values in the hundreds or thousands) turns mostly white: faithful,
 * hence the default, but worth a warning.
 */
function applySixteenBitPolicy(img: PilImage, opts: PreprocessOptions, name: string): PilImage {
  if (img.mode !== 'I') return img;
  if (opts.sixteenBit === 'rescale') return rescaleToL(img);
  const { min, max } = range(img.data);
  if (max > 255 || min < 0) {
    (opts.onWarning ?? printWarning)(
      `${name}: 16-bit gray image with values ${min}..${max}; like Pillow, values above 255 saturate to white ` +
        `(use --sixteen-bit rescale to stretch ${min}..${max} onto 0..255 instead)`,
    );
  }
  return img;
}

/**
 * Resize to outWidth x outHeight following the mode's rules in Pillow's Image.resize, computing only `win`.
 * An image already at the target size is not resized at all (torchvision returns it untouched), so an RGBA
 * image then also skips the premultiply round trip.
 */
export function resizeForMode(img: PilImage, outWidth: number, outHeight: number, win: OutputWindow): PilImage {
  const asImage = (r: Raster): PilImage => ({ mode: img.mode, width: r.width, height: r.height, bands: r.bands, data: r.data });
  // Same size: resizeBicubic skips both passes and only crops.
  if (outWidth === img.width && outHeight === img.height) return asImage(resizeBicubic(img, outWidth, outHeight, win));
  if (img.mode === 'P' || img.mode === '1') return asImage(resizeNearest(img, outWidth, outHeight, win));
  if (img.mode === 'LA' || img.mode === 'RGBA') {
    return unpremultiply(asImage(resizeBicubic(premultiply(img), outWidth, outHeight, win)));
  }
  return asImage(resizeBicubic(img, outWidth, outHeight, win));
}

/** The whole transform on a decoded image. */
export function preprocessDecoded(img: PilImage, cfg: PreprocessConfig, opts: PreprocessOptions, name: string): Preprocessed {
  const sourceMode = img.mode;
  const prepared = applySixteenBitPolicy(img, opts, name);
  const target = resizedSize(prepared.width, prepared.height, cfg.imageSize);
  const win = centerCropWindow(target.width, target.height, cfg.imageSize);
  const cropped = resizeForMode(prepared, target.width, target.height, win);
  const crop = toRGB(cropped); // [S, S, 3]
  return {
    pixelValues: normalizeToCHW(crop, cfg.imageSize, cfg.mean, cfg.std), // [3, S, S]
    crop,
    sourceWidth: img.width,
    sourceHeight: img.height,
    mode: sourceMode,
  };
}
