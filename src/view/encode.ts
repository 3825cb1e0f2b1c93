/**
 * Compact storage for the viewer page. Full-size attention is 12 layers × 12 heads × 197 × 197 values per
 * image (5.6 M): as float32 that is 22 MB, as JSON text more than twice that. The page stores each
 * attention row as 8-bit fractions of the row's maximum (a softmax row is in [0, 1], and what a heatmap
 * shows is its shape, which 256 levels of the row's own range keep), then gzips the bytes (attention is
 * mostly small values, which compress well) and embeds them as base64, which the browser's
 * DecompressionStream reads back without any library.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { HostTensor } from '../host-tensor.js';
import type { BlockRef, PackedAttention } from './contract.js';

/** The binary blocks of one page, by id: base64 of gzip. */
export class Blocks {
  readonly entries: Array<{ id: string; base64: string }> = [];

  add(prefix: string, bytes: Uint8Array): BlockRef {
    const id = `${prefix}-${this.entries.length}`;
    this.entries.push({ id, base64: gzipSync(bytes).toString('base64') });
    return { id, bytes: bytes.length };
  }

  /** Stored size (base64 characters) of a block. */
  size(ref: BlockRef): number {
    return this.entries.find((e) => e.id === ref.id)!.base64.length;
  }
}

/**
 * Layers of one input's attention ([1, H, S, S] each) -> the packed layout of `PackedAttention`:
 * float32 row maxima [L, H, S], then uint8 [L, H, S, S].
 */
export function quantizeAttention(layers: HostTensor[]): { bytes: Uint8Array; shape: [number, number, number, number] } {
  const [, heads, s] = layers[0].shape;
  const rows = layers.length * heads * s;
  const bytes = new Uint8Array(rows * 4 + rows * s);
  const scales = new Float32Array(bytes.buffer, 0, rows);
  const values = bytes.subarray(rows * 4);
  layers.forEach((a, l) => {
    if (a.shape.join() !== [1, heads, s, s].join()) throw new Error(`internal: attention layer ${l} is [${a.shape}], expected [1, ${heads}, ${s}, ${s}]`);
    for (let r = 0; r < heads * s; r++) {
      const row = a.data.subarray(r * s, (r + 1) * s);
      let max = 0;
      for (let k = 0; k < s; k++) max = Math.max(max, row[k]);
      const at = l * heads * s + r;
      scales[at] = max;
      const out = values.subarray(at * s, (at + 1) * s);
      for (let k = 0; k < s; k++) out[k] = max > 0 ? Math.round((row[k] / max) * 255) : 0;
    }
  });
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) throw new Error('internal: the page format is little-endian');
  return { bytes, shape: [layers.length, heads, s, s] };
}

export function packAttention(blocks: Blocks, prefix: string, layers: HostTensor[], names: string[]): PackedAttention {
  const { bytes, shape } = quantizeAttention(layers);
  return { block: blocks.add(prefix, bytes), shape, names };
}

/** The inverse of `quantizeAttention` (what the page computes), for tests and the size report. */
export function dequantize(bytes: Uint8Array, shape: [number, number, number, number]): Float32Array {
  const [l, h, s] = shape;
  const rows = l * h * s;
  const scales = new Float32Array(bytes.slice(0, rows * 4).buffer);
  const out = new Float32Array(rows * s);
  for (let r = 0; r < rows; r++) for (let k = 0; k < s; k++) out[r * s + k] = (bytes[rows * 4 + r * s + k] / 255) * scales[r];
  return out;
}

/** A block's bytes back from its base64 (tests). */
export function unpackBlock(base64: string): Uint8Array {
  return new Uint8Array(gunzipSync(Buffer.from(base64, 'base64')));
}
