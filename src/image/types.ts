/**
 * The public types of the image pipeline (re-exported by index.ts), in their own file so that every module
 * can import them without importing the pipeline.
 */

import type { PilMode } from './modes.js';

export type ImageFormat = 'png' | 'jpeg' | 'bmp' | 'gif' | 'tiff' | 'webp';

/** What a file's header says, read before any pixel is decoded (header.ts; the decoders check against it). */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** The mode Pillow 9.4 opens this file in. */
  mode: PilMode;
  /** Bits per sample as stored (PNG 1/2/4/8/16; 8 for the other formats, whose decoders deliver bytes). */
  bitDepth: number;
  /** PNG colour type (0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA); -1 for the other formats. */
  pngColorType: number;
}

/** The `preprocess_cfg` of open_clip_config.json, parsed by model/config.ts. */
export interface PreprocessConfig {
  /** Side of the square crop fed to the vision tower (224 for BiomedCLIP). */
  imageSize: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** OpenAI CLIP's per-channel mean and std, which open_clip (and BiomedCLIP's preprocess_cfg) normalise with. */
export const OPENAI_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** BiomedCLIP's preprocess_cfg (open_clip_config.json): 224 px, OpenAI CLIP's mean and std. */
export const DEFAULT_PREPROCESS: PreprocessConfig = {
  imageSize: 224,
  mean: OPENAI_MEAN,
  std: OPENAI_STD,
};

/** Raw pixels, interleaved, row by row: 1 channel = gray (Pillow L), 3 = RGB, 4 = RGBA (resized premultiplied). */
export interface RawImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/** A file path, the encoded bytes of a PNG, JPEG, BMP, GIF, TIFF or WebP file (a Buffer is fine), or raw pixels. */
export type ImageInput = string | Uint8Array | RawImage;

export interface PreprocessOptions {
  /** 'auto' (default): sharp, or the pure-JS decoders if sharp's native binary cannot load. */
  decoder?: 'auto' | 'sharp' | 'js';
  /**
   * 16-bit gray images: 'pillow' (default) saturates values above 255 exactly as Pillow's convert('RGB');
   * 'rescale' stretches the image's min..max onto 0..255 first. See docs/image.md.
   */
  sixteenBit?: 'pillow' | 'rescale';
  /** Called with one-line warnings (default: printed to stderr). */
  onWarning?: (message: string) => void;
  /** Refuse images with more pixels than this (default Pillow's MAX_IMAGE_PIXELS, 89,478,485). */
  maxPixels?: number;
}

export interface Preprocessed {
  /** Normalized float32 pixels, [3, S, S] channel-first: the vision tower's input without the batch axis. */
  pixelValues: Float32Array;
  /** The S x S RGB crop as bytes, [S, S, 3]: what Pillow holds right before ToTensor. */
  crop: Uint8Array;
  sourceWidth: number;
  sourceHeight: number;
  /** The Pillow mode the source opened in ('RGB', 'L', 'RGBA', 'P', 'I', 'CMYK', ...). */
  mode: string;
}
