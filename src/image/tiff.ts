/**
 * TIFF: the first image's size and the mode Pillow 9.4 opens it in, read from its first IFD before any pixel
 * is decoded. Pillow's TiffImagePlugin picks the mode from (photometric, sample format, fill order, bits per
 * sample, extra samples); this file accepts the combinations whose pixels sharp (libvips, the decoder) gives
 * exactly as Pillow does, checked against Pillow by test/image-parity.test.ts, and refuses the others with
 * one line. The refusals include 16-bit grey, which Pillow opens as I;16 and torchvision's resize then
 * rejects ("image has wrong mode"), so open_clip cannot read such a file either.
 */
import { UserError } from '../errors.js';
import type { ImageHeader } from './types.js';
import type { PilMode } from './modes.js';

const TAGS = {
  width: 256,
  height: 257,
  bits: 258,
  compression: 259,
  photometric: 262,
  fillOrder: 266,
  samples: 277,
  planar: 284,
  extraSamples: 338,
  sampleFormat: 339,
};

/** Every value of each IFD entry we read (SHORT, LONG or BYTE), by tag. */
function readIfd(b: Uint8Array, name: string): Map<number, number[]> {
  const le = b[0] === 0x49;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const damaged = (): never => {
    throw new UserError(`${name}: TIFF directory is truncated or damaged; the file is damaged`);
  };
  const u16 = (at: number) => (at + 2 <= b.length ? view.getUint16(at, le) : damaged());
  const u32 = (at: number) => (at + 4 <= b.length ? view.getUint32(at, le) : damaged());
  const ifd = u32(4);
  const entries = u16(ifd);
  const tags = new Map<number, number[]>();
  const wanted = new Set(Object.values(TAGS));
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + 12 * i;
    const tag = u16(at);
    if (!wanted.has(tag)) continue;
    const type = u16(at + 2);
    const count = u32(at + 4);
    const size = ({ 1: 1, 3: 2, 4: 4 } as Record<number, number>)[type] ?? damaged();
    if (count > 16) damaged();
    const start = size * count <= 4 ? at + 8 : u32(at + 8);
    tags.set(
      tag,
      Array.from({ length: count }, (_, k) =>
        size === 1 ? (start + k < b.length ? b[start + k] : damaged()) : size === 2 ? u16(start + 2 * k) : u32(start + 4 * k),
      ),
    );
  }
  return tags;
}

export function tiffHeader(b: Uint8Array, name: string): ImageHeader {
  const tags = readIfd(b, name);
  const one = (tag: number, fallback: number) => tags.get(tag)?.[0] ?? fallback;
  const width = one(TAGS.width, 0);
  const height = one(TAGS.height, 0);
  const samples = one(TAGS.samples, 1);
  const bits = tags.get(TAGS.bits) ?? [1];
  const photometric = one(TAGS.photometric, -1);
  const extra = (tags.get(TAGS.extraSamples) ?? []).join(',');
  const depth = bits.every((x) => x === bits[0]) ? bits[0] : -1;
  const describe = `photometric ${photometric}, ${samples} sample(s) of ${bits.join('/')} bits${extra ? `, extra samples ${extra}` : ''}`;
  const refuse = (why: string): never => {
    throw new UserError(`${name}: ${why}; convert it to PNG first`);
  };
  if ((tags.get(TAGS.sampleFormat) ?? [1]).some((f) => f !== 1)) refuse(`TIFF with non-integer or signed samples (${describe}) is not supported`);
  if (one(TAGS.fillOrder, 1) !== 1) refuse('TIFF with reversed bit fill order is not supported');
  if (photometric <= 1 && samples === 1 && depth === 16) {
    throw new UserError(
      `${name}: 16-bit grey TIFF opens in Pillow as I;16, which open_clip's resize refuses ("image has wrong mode"); export it as 16-bit PNG (see --sixteen-bit)`,
    );
  }
  const mode = tiffMode(photometric, samples, depth, extra);
  if (mode === undefined) refuse(`TIFF with ${describe} is not supported`);
  return { format: 'tiff', width, height, mode: mode as PilMode, bitDepth: 8, pngColorType: -1 };
}

/** Pillow's OPEN_INFO for the accepted layouts (RGBX, an unspecified 4th sample, resizes as RGB does). */
function tiffMode(photometric: number, samples: number, depth: number, extra: string): PilMode | undefined {
  if (photometric <= 1 && samples === 1) return depth === 1 ? '1' : depth === 8 ? 'L' : undefined;
  if (depth !== 8 && !(photometric === 3 && samples === 1 && [1, 2, 4].includes(depth))) return undefined;
  if (photometric === 2 && samples === 3 && extra === '') return 'RGB';
  if (photometric === 2 && samples === 4) return extra === '0' ? 'RGB' : extra === '' || extra === '2' ? 'RGBA' : undefined; // '1' (premultiplied) is refused
  if (photometric === 3 && samples === 1) return 'P';
  if (photometric === 5 && samples === 4 && extra === '') return 'CMYK';
  if (photometric === 6 && samples === 3) return 'RGB';
  return undefined;
}
