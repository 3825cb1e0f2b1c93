/**
 * Each row's target region on the crop grid, found before the model runs: the image's size from its
 * header (no decoding), the boxes or decoded masks mapped through the same resize and centre crop the
 * image goes through (region.ts). A row whose image cannot be read, whose mask has the wrong size or
 * no pixel set, whose box reaches past the image, or whose region falls wholly outside the crop gets a
 * reason instead, said in a line that names the sizes involved so the user can see why.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { PILLOW_MAX_IMAGE_PIXELS, readHeader } from '../../image/header.js';
import { decodeInput } from '../../image/preprocess.js';
import type { PreprocessOptions } from '../../image/index.js';
import type { GroundingItem } from './data.js';
import { boxesToCrop, cropSources, maskToCrop, type Box, type Region } from './region.js';

export type RegionResult = { region: Region; width: number; height: number } | { error: string };

/**
 * The region of `item` (paths relative to `root`) on the size × size crop. UserErrors of the image
 * pipeline (unreadable file, unknown format, too many pixels) become the row's skip reason.
 */
export async function itemRegion(root: string, item: GroundingItem, size: number, opts: PreprocessOptions): Promise<RegionResult> {
  try {
    const file = path.resolve(root, item.image);
    const { width, height } = readHeader(await readFile(file), item.image, opts.maxPixels ?? PILLOW_MAX_IMAGE_PIXELS);
    const beyond = item.boxes.find((b) => b.x0 < 0 || b.y0 < 0 || b.x1 > width || b.y1 > height);
    if (beyond !== undefined) return { error: beyondImage(beyond, width, height) };
    const region = item.masks.length > 0 ? await masksRegion(root, item.masks, width, height, size, opts) : boxesToCrop(item.boxes, width, height, size);
    if (region === null) return { error: outside(item, width, height, size) };
    return { region, width, height };
  } catch (err) {
    if (err instanceof UserError) return { error: err.message };
    throw err;
  }
}

/** The union of the masks (nonzero in any colour band is inside), each checked to be the image's size. */
async function masksRegion(root: string, masks: string[], width: number, height: number, size: number, opts: PreprocessOptions): Promise<Region | null> {
  const union = new Uint8Array(width * height);
  for (const mask of masks) {
    const img = await decodeInput(path.resolve(root, mask), opts);
    if (img.width !== width || img.height !== height) {
      throw new UserError(`mask ${mask} is ${img.width}x${img.height} but the image is ${width}x${height}; a mask must be the original image's size`);
    }
    // Alpha says how opaque a pixel is, not whether it is in the region: only the colour bands count.
    const colour = img.mode === 'LA' || img.mode === 'RGBA' ? img.bands - 1 : img.bands;
    for (let p = 0; p < width * height; p++) {
      for (let b = 0; b < colour && union[p] === 0; b++) if (img.data[p * img.bands + b] !== 0) union[p] = 1;
    }
  }
  if (!union.includes(1)) throw new UserError(`the mask${masks.length > 1 ? 's have' : ' has'} no nonzero pixel; a mask marks the region with nonzero values`);
  return maskToCrop(union, width, height, size);
}

/**
 * A box reaching past the image is refused, not clipped: it most often means coordinates of another
 * size of the image (a dataset's boxes are for the full-size original; these files were downscaled).
 */
function beyondImage(b: Box, width: number, height: number): string {
  return `the box (${b.x0}, ${b.y0})-(${b.x1}, ${b.y1}) reaches past the ${width}x${height} image; boxes are in this image file's pixels (scale them if the images were resized)`;
}

/** Why a region is empty on the crop: which pixels of the original the centre crop shows. */
function outside(item: GroundingItem, width: number, height: number, size: number): string {
  const { sx, sy } = cropSources(width, height, size);
  const keeps = `x ${sx[0]} to ${sx[size - 1]}, y ${sy[0]} to ${sy[size - 1]}`;
  const what = item.masks.length > 0 ? 'the mask lies' : `the box${item.boxes.length > 1 ? 'es lie' : ' lies'}`;
  return `${what} wholly outside the centre crop the model sees (of the ${width}x${height} image it shows pixels ${keeps}); the row cannot be scored`;
}
