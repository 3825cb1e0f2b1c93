/**
 * A PNG decoder in plain TypeScript, for the pure-JS path (`decoder: 'js'`, and a browser bundle). PNG is
 * lossless, so a correct decoder hands over exactly the samples Pillow reads; what Pillow then makes of them
 * (its modes, low-bit scaling, which tRNS it honours) is decode-js.ts's business, not this file's.
 *
 * A PNG file is an 8-byte signature followed by chunks, each: length (4 bytes, big-endian), type (4 ASCII
 * letters), data, and a CRC-32 of type + data. The chunks that decide the pixels:
 *   IHDR  width, height, bit depth, colour type, interlace method; always first
 *   PLTE  the palette, 3 bytes (R, G, B) per entry, for colour type 3
 *   tRNS  transparency: an alpha per palette entry, or the one gray / RGB value that means "transparent"
 *   IDAT  the image data: one zlib stream cut into any number of chunks, to be concatenated
 *   IEND  the end (Pillow does not insist on it, so neither do we)
 * Every other chunk (text, gamma, ICC profile, ...) is skipped: Pillow's pipeline does not apply them.
 *
 * The zlib stream inflates to rows of bytes, each row led by a filter-type byte (see `unfilterRow`). A plain
 * image is one run of rows; an Adam7-interlaced one is seven smaller images ("passes") one after the other,
 * each picking every n-th pixel of the full image (see ADAM7).
 *
 * Only web-standard APIs are used (DecompressionStream, Blob), so the code runs as it is in Node 20 and in a
 * page. Callers check the pixel limit first (header.ts): the output buffer is allocated from IHDR's size.
 */

/** Colour type -> samples per pixel as stored: gray, -, RGB, palette index, gray + alpha, -, RGBA. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Colour type -> the bit depths the PNG spec allows for it. */
const DEPTHS: Record<number, readonly number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface DecodedPng {
  width: number;
  height: number;
  /** Bits per sample as stored: 1, 2, 4, 8 or 16. */
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
  /** Samples per pixel in `samples`: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. Palette images come expanded:
   * RGB, or RGBA when a tRNS chunk gives the entries an alpha. */
  channels: number;
  /** Pixels row by row, samples interleaved. A Uint16Array for 16-bit files; low-bit gray stays unscaled
   * (0 .. 2^bitDepth - 1). */
  samples: Uint8Array | Uint16Array;
  /** Gray / RGB tRNS: the sample value(s) that mark a pixel transparent. Reported, not applied (no alpha
   * channel is added): Pillow's convert('RGB') ignores it too. */
  transparentKey: number[] | null;
}

export interface PngOptions {
  /** Check every chunk's CRC-32 (default true: a bit flip anywhere is reported as damage). */
  checkCrc?: boolean;
}

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

interface Chunks {
  header: Header;
  palette: Uint8Array | null;
  transparency: Uint8Array | null;
  imageData: Uint8Array[];
}

/** Decodes a whole PNG file. Throws a plain Error (one line, no file name) for anything damaged or invalid. */
export async function decodePng(bytes: Uint8Array, opts: PngOptions = {}): Promise<DecodedPng> {
  const { header, palette, transparency, imageData } = readChunks(bytes, opts.checkCrc ?? true);
  const channels = CHANNELS[header.colorType];
  const layout = passes(header);
  const rowBytes = (width: number): number => Math.ceil((width * channels * header.bitDepth) / 8);
  const expected = layout.reduce((sum, p) => sum + p.height * (1 + rowBytes(p.width)), 0);
  const raw = await inflate(imageData, expected);
  const samples = header.bitDepth === 16 ? new Uint16Array(header.width * header.height * channels) : new Uint8Array(header.width * header.height * channels);
  // Bytes per complete pixel, at least 1: how far back "the pixel to the left" is for the filters.
  const bpp = Math.max(1, (channels * header.bitDepth) >> 3);
  let offset = 0;
  for (const pass of layout) {
    const length = rowBytes(pass.width);
    for (let y = 0; y < pass.height; y++) {
      // The first row of every pass has no row above: the filters read zeros there.
      const above = y === 0 ? -1 : offset - length - 1;
      unfilterRow(raw, offset, above, length, bpp);
      placeRow(raw.subarray(offset + 1, offset + 1 + length), y, pass, header, channels, samples);
      offset += 1 + length;
    }
  }
  const base = { ...header, transparentKey: null };
  // Palette indices are at most 8 bits, so `samples` is a Uint8Array here.
  if (header.colorType === 3) return { ...base, ...expandPalette(samples as Uint8Array, palette, transparency) };
  return { ...base, channels, samples, transparentKey: transparentKey(header.colorType, transparency) };
}

/** Walks the chunks: checks the signature, CRCs and order, keeps what the pixels need. */
function readChunks(bytes: Uint8Array, checkCrc: boolean): Chunks {
  if (bytes.length < 8 || SIGNATURE.some((v, i) => bytes[i] !== v)) throw new Error('bad signature');
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let transparency: Uint8Array | null = null;
  const imageData: Uint8Array[] = [];
  for (let pos = 8; pos < bytes.length;) {
    if (pos + 12 > bytes.length) throw new Error(`the file ends inside a chunk header at byte ${pos}`);
    const length = readU32(bytes, pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)).replace(/[^ -~]/g, '?');
    const end = pos + 8 + length; // where the CRC starts
    if (end + 4 > bytes.length) throw new Error(`${type} chunk at byte ${pos} runs past the end of the file`);
    if (checkCrc && crc32(bytes, pos + 4, end) !== readU32(bytes, end)) throw new Error(`${type} chunk at byte ${pos} fails its CRC check`);
    const data = bytes.subarray(pos + 8, end);
    if (header === null && type !== 'IHDR') throw new Error(`the first chunk is ${type}, not IHDR`);
    if (type === 'IHDR') header = readHeader(data);
    else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') transparency = data;
    else if (type === 'IDAT') imageData.push(data);
    else if (type === 'IEND') break;
    pos = end + 4;
  }
  if (header === null) throw new Error('no IHDR chunk');
  if (imageData.length === 0) throw new Error('no IDAT chunk (no image data)');
  return { header, palette, transparency, imageData };
}

function readHeader(data: Uint8Array): Header {
  if (data.length < 13) throw new Error(`IHDR chunk is ${data.length} bytes, not 13`);
  const [width, height] = [readU32(data, 0), readU32(data, 4)];
  const [bitDepth, colorType, compression, filter, interlace] = data.subarray(8, 13);
  if (width === 0 || height === 0) throw new Error(`image size ${width}x${height} is empty`);
  if (!(DEPTHS[colorType] ?? []).includes(bitDepth)) throw new Error(`bit depth ${bitDepth} with colour type ${colorType} is invalid`);
  if (compression !== 0 || filter !== 0) throw new Error(`unknown compression (${compression}) or filter (${filter}) method`);
  if (interlace > 1) throw new Error(`unknown interlace method ${interlace}`);
  return { width, height, bitDepth, colorType, interlaced: interlace === 1 };
}

/** A big-endian unsigned 32-bit integer. */
function readU32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** CRC-32 (the zlib / PNG polynomial 0xEDB88320, reflected) as a table of the 256 one-byte steps. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32(b: Uint8Array, start: number, end: number): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/**
 * The concatenated IDAT data inflated (zlib format: DecompressionStream's 'deflate'), exactly `expected`
 * bytes. Like Pillow, we stop once the image is complete: whatever follows (more rows, the Adler-32
 * checksum) is not waited for, and an error the stream raises only after that point does not count.
 * One difference between hosts: bytes after the end of the zlib stream are ignored by Node (and Pillow),
 * but Chromium's DecompressionStream errors on them ("Junk found after end of compressed data") and drops
 * output it had not handed over yet, so such a file (rare: a sloppy encoder's padding) is refused there.
 */
async function inflate(parts: Uint8Array[], expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  const reader = new Blob(parts as BlobPart[]).stream().pipeThrough(new DecompressionStream('deflate')).getReader();
  let filled = 0;
  try {
    while (filled < expected) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, expected - filled);
      out.set(value.subarray(0, take), filled);
      filled += take;
    }
  } catch (err) {
    throw new Error(`image data is corrupt (zlib: ${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (filled < expected) throw new Error(`image data ends after ${filled} of ${expected} bytes`);
  reader.cancel().catch(() => {}); // release the stream; nothing more is read
  return out;
}

/**
 * Undoes one row's filter, in place: `data[at]` is the filter type and the row's bytes follow it; `above`
 * is where the previous row of the same pass starts (its filter byte), or -1 for a pass's first row, whose
 * "row above" is all zeros. Each filter predicted a byte from neighbours already decoded: a = left (the same
 * byte of the previous pixel, `bpp` bytes back; 0 before the first), b = above, c = above-left. Adding the
 * prediction back undoes it; Uint8Array stores the sums modulo 256, which is the spec's arithmetic.
 */
function unfilterRow(data: Uint8Array, at: number, above: number, length: number, bpp: number): void {
  const type = data[at];
  const x = at + 1; // the row's first byte
  if (type === 0) return; // None: stored as is
  if (type === 1 || (type === 4 && above < 0)) {
    // Sub: x + a. (Paeth with b = c = 0 always picks a, so a first row's Paeth is Sub.)
    for (let i = bpp; i < length; i++) data[x + i] += data[x + i - bpp];
  } else if (type === 2) {
    // Up: x + b (nothing to add on a first row)
    if (above >= 0) for (let i = 0, b = above + 1; i < length; i++) data[x + i] += data[b + i];
  } else if (type === 3) {
    // Average: x + floor((a + b) / 2), the sum taken in more than 8 bits
    const b = above + 1;
    for (let i = 0; i < length; i++) {
      const sum = (i >= bpp ? data[x + i - bpp] : 0) + (above >= 0 ? data[b + i] : 0);
      data[x + i] += sum >> 1;
    }
  } else if (type === 4) {
    // Paeth: x + whichever of a, b, c is nearest to a + b - c
    const b = above + 1;
    for (let i = 0; i < bpp && i < length; i++) data[x + i] += data[b + i]; // a = c = 0: Paeth picks b
    for (let i = bpp; i < length; i++) data[x + i] += paeth(data[x + i - bpp], data[b + i], data[b + i - bpp]);
  } else {
    throw new Error(`unknown filter type ${type} at byte ${at} of the image data`);
  }
}

/** The Paeth predictor exactly as the PNG spec writes it, ties broken in the order a, b, c. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

/** One pass: the pixels at (x0 + i*dx, y0 + j*dy) of the full image, stored as a width x height image. */
interface Pass {
  x0: number;
  y0: number;
  dx: number;
  dy: number;
  width: number;
  height: number;
}

/**
 * Adam7's seven passes as [x0, y0, dx, dy]. On each 8x8 tile, the pass that delivers each pixel:
 *   1 6 4 6 2 6 4 6
 *   7 7 7 7 7 7 7 7
 *   5 6 5 6 5 6 5 6
 *   7 7 7 7 7 7 7 7
 *   3 6 4 6 3 6 4 6
 *   7 7 7 7 7 7 7 7
 *   5 6 5 6 5 6 5 6
 *   7 7 7 7 7 7 7 7
 */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** The passes stored in the image data. A pass with no pixels (small images) is absent: not even filter bytes. */
function passes(h: Header): Pass[] {
  if (!h.interlaced) return [{ x0: 0, y0: 0, dx: 1, dy: 1, width: h.width, height: h.height }];
  const count = (size: number, start: number, step: number): number => Math.max(0, Math.ceil((size - start) / step));
  return ADAM7.map(([x0, y0, dx, dy]) => ({ x0, y0, dx, dy, width: count(h.width, x0, dx), height: count(h.height, y0, dy) })).filter(
    (p) => p.width > 0 && p.height > 0,
  );
}

/**
 * Row `y` of `pass`, unfiltered bytes, into its place in `out`: 16-bit samples are big-endian byte pairs;
 * samples under 8 bits (gray and palette only, so one per pixel) are packed from the high bit down.
 */
function placeRow(row: Uint8Array, y: number, pass: Pass, h: Header, channels: number, out: Uint8Array | Uint16Array): void {
  const { x0, dx, width } = pass;
  const start = (pass.y0 + y * pass.dy) * h.width; // first pixel of the full image's row
  if (h.bitDepth === 8 && dx === 1) {
    out.set(row, start * channels);
  } else if (h.bitDepth >= 8) {
    const bytes = h.bitDepth >> 3;
    for (let x = 0; x < width; x++) {
      const dst = (start + x0 + x * dx) * channels;
      for (let c = 0; c < channels; c++) {
        const src = (x * channels + c) * bytes;
        out[dst + c] = bytes === 2 ? (row[src] << 8) | row[src + 1] : row[src];
      }
    }
  } else {
    const bits = h.bitDepth;
    const mask = (1 << bits) - 1;
    for (let x = 0; x < width; x++) {
      const bit = x * bits;
      out[start + x0 + x * dx] = (row[bit >> 3] >> (8 - bits - (bit & 7))) & mask;
    }
  }
}

/**
 * Palette indices -> RGB, or RGBA when tRNS gives alphas (entries it does not cover stay opaque). Entries
 * the palette does not define (and every entry when PLTE is missing) read as gray (i, i, i): Pillow's
 * default palette, which its P -> RGB conversion then uses, so a sloppy file decodes as it does in Pillow.
 */
function expandPalette(indices: Uint8Array, palette: Uint8Array | null, alphas: Uint8Array | null): { channels: number; samples: Uint8Array } {
  const table = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i++) table.set([i, i, i, 255], i * 4);
  const rgb = palette ?? new Uint8Array(0);
  for (let i = 0; i < Math.min(256, Math.floor(rgb.length / 3)); i++) table.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
  const alpha = alphas ?? new Uint8Array(0);
  for (let i = 0; i < Math.min(256, alpha.length); i++) table[i * 4 + 3] = alpha[i];
  const channels = alphas === null ? 3 : 4;
  const samples = new Uint8Array(indices.length * channels);
  for (let p = 0; p < indices.length; p++) {
    const entry = indices[p] * 4;
    for (let c = 0; c < channels; c++) samples[p * channels + c] = table[entry + c];
  }
  return { channels, samples };
}

/** The gray (2 bytes) or RGB (3 x 2 bytes) tRNS key, big-endian; null when absent or too short. */
function transparentKey(colorType: number, trns: Uint8Array | null): number[] | null {
  const count = colorType === 0 ? 1 : colorType === 2 ? 3 : 0;
  if (trns === null || count === 0 || trns.length < count * 2) return null;
  return Array.from({ length: count }, (_, i) => (trns[i * 2] << 8) | trns[i * 2 + 1]);
}
