/**
 * A grounding target (boxes or a mask on the original image) carried into the pixel grid of the S × S crop
 * the model saw, so the measures compare it with the upsampled map pixel for pixel.
 *
 * The image went through torchvision's Resize(S) (shorter side → S; src/image/crop.ts resizedSize) and
 * CenterCrop(S) (centerCropWindow). The region goes through the same two steps as if it were a mask image
 * resized with Pillow's NEAREST filter: crop pixel (cx, cy) shows the original pixel
 *
 *   sx = floor((cx + left + 0.5) · W / W'),   sy = floor((cy + top + 0.5) · H / H')
 *
 * (W × H the original, W' × H' the resized size, (left, top) the crop's corner), i.e. the source pixel under
 * the crop pixel's centre. The products are taken as Pillow takes them (Geometry.c ImagingScaleAffine starts
 * at half a step and adds the step W / W' once per pixel, in double precision; src/image/resample.ts
 * nearestIndices), so the region equals torchvision's `CenterCrop(S)(Resize(S, NEAREST)(mask))` on a
 * PIL mask exactly. The closed form differs only where a centre lands exactly on a pixel border, which
 * happens when W / W' is p / q with p even and q odd (a 320 × 480 image: 10/7); there the accumulated
 * sum can fall a hair short of the border, and Pillow then picks the pixel before it (test/grounding-oracle.test.ts
 * counts these). torchvision's tensor path would differ more: torch's 'nearest' takes floor(o · W / W'),
 * with no half-pixel centre, so a tensor mask shifts by up to a pixel; the model's images go through
 * Pillow, and so does the region here.
 *
 * A crop pixel is inside a box { x0, y0, x1, y1 } (inclusive-exclusive, original pixels) when its source
 * pixel is: x0 ≤ sx < x1 and y0 ≤ sy < y1. For whole-number boxes that is the same as the centre's
 * source coordinate u = (cx + left + 0.5) · W / W' satisfying x0 ≤ u < x1 (likewise y); a fractional x0
 * takes the pixels from ceil(x0), as a mask drawn from the box would. Parts of a box outside the crop (or
 * the image) simply select no crop pixels: the region is clipped at the crop's edge.
 */
import { centerCropWindow, resizedSize } from '../../image/crop.js';
import { nearestIndices } from '../../image/resample.js';

/** A box in the original image's pixels: columns x0 ≤ x < x1, rows y0 ≤ y < y1. */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A target region on the S × S crop grid. */
export interface Region {
  size: number;
  /** size · size flags, row-major: 1 = inside. */
  inside: Uint8Array;
  /** How many pixels are inside (> 0 for a region these functions return). */
  area: number;
}

/** Zero or negative width or height (or a coordinate that is not a number): a box that selects nothing. */
export function boxIsEmpty(b: Box): boolean {
  return !(b.x1 > b.x0 && b.y1 > b.y0);
}

/** For each crop column and row: the original pixel column and row under its centre. */
export function cropSources(width: number, height: number, size: number): { sx: number[]; sy: number[] } {
  checkSize(width, height, size);
  const resized = resizedSize(width, height, size);
  const win = centerCropWindow(resized.width, resized.height, size);
  return {
    sx: nearestIndices(width, resized.width, win.x0, size),
    sy: nearestIndices(height, resized.height, win.y0, size),
  };
}

/**
 * The union of `boxes` on the crop grid of a `width` × `height` image (rule in the file comment); empty
 * boxes add nothing. Null when no crop pixel is inside: every box is empty or wholly outside the crop.
 */
export function boxesToCrop(boxes: Box[], width: number, height: number, size: number): Region | null {
  const { sx, sy } = cropSources(width, height, size);
  const inside = new Uint8Array(size * size);
  for (const b of boxes) {
    if (boxIsEmpty(b)) continue;
    const cols = sx.map((x) => x >= b.x0 && x < b.x1);
    sy.forEach((y, cy) => {
      if (y < b.y0 || y >= b.y1) return;
      cols.forEach((hit, cx) => {
        if (hit) inside[cy * size + cx] = 1;
      });
    });
  }
  return regionOf(inside, size);
}

/**
 * A mask of the original's size (`width` · `height` values, row-major, nonzero = inside) on the crop grid:
 * each crop pixel takes its source pixel's flag. Null when no crop pixel is inside.
 */
export function maskToCrop(mask: Uint8Array, width: number, height: number, size: number): Region | null {
  if (mask.length !== width * height) throw new RangeError(`maskToCrop: the mask has ${mask.length} values, not ${width} x ${height}`);
  const { sx, sy } = cropSources(width, height, size);
  const inside = new Uint8Array(size * size);
  sy.forEach((y, cy) => {
    sx.forEach((x, cx) => {
      if (mask[y * width + x] !== 0) inside[cy * size + cx] = 1;
    });
  });
  return regionOf(inside, size);
}

function regionOf(inside: Uint8Array, size: number): Region | null {
  let area = 0;
  for (const v of inside) area += v;
  return area === 0 ? null : { size, inside, area };
}

function checkSize(width: number, height: number, size: number): void {
  for (const [name, v] of [
    ['width', width],
    ['height', height],
    ['size', size],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`grounding region: ${name} must be a positive whole number of pixels, got ${v}`);
  }
}
