/**
 * The geometry of torchvision's Resize(size) and CenterCrop(size) on a PIL image (torchvision 0.14
 * transforms/functional.py), kept apart from the pixel work so the arithmetic can be checked on its own.
 */
import type { OutputWindow } from './resample.js';

/**
 * Resize(size) with an int size: the shorter side becomes `size`, the longer `int(size * long / short)`
 * (a truncating Python int() of a double division, so 4000x50 -> 17920x224 and 275x183 -> 336x224).
 */
export function resizedSize(width: number, height: number, size: number): { width: number; height: number } {
  const short = Math.min(width, height);
  const long = Math.max(width, height);
  const newLong = Math.trunc((size * long) / short);
  return width <= height ? { width: size, height: newLong } : { width: newLong, height: size };
}

/** Python 3's round() on a half-integer or integer: ties go to the even neighbour (round(0.5) == 0). */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * CenterCrop(size): `top = int(round((H - size) / 2.0))`, `left` likewise. With round-half-to-even an odd
 * excess of 1 gives offset 0 and an excess of 3 gives 2, not the 1 and 2 that `Math.round` would give.
 * (Images smaller than `size` would be padded; after the resize above that cannot happen.)
 */
export function centerCropWindow(width: number, height: number, size: number): OutputWindow {
  return {
    x0: roundHalfEven((width - size) / 2),
    y0: roundHalfEven((height - size) / 2),
    width: size,
    height: size,
  };
}
