/**
 * One input's attention, every layer and head, as the page stores it: 8-bit values with a float32 maximum
 * per row (contract.ts, `PackedAttention`). Rows are decoded on demand, never all at once: a full-size
 * image has 5.6 M values and a hover needs 197 of them. Where the bytes come from (the page's blocks,
 * decode.ts) is not this class's business, so any page that holds such bytes can draw from it.
 */
import type { PackedAttention } from '../contract.js';

export class Attention {
  readonly layers: number;
  readonly heads: number;
  /** Tokens: queries = keys = S. */
  readonly size: number;
  /** The `trace` hook name of each layer's tensor, in layer order. */
  readonly names: string[];
  private readonly scales: Float32Array;
  private readonly values: Uint8Array;

  constructor(bytes: Uint8Array, layout: Pick<PackedAttention, 'shape' | 'names'>) {
    [this.layers, this.heads, this.size] = layout.shape;
    this.names = layout.names;
    const rows = this.layers * this.heads * this.size;
    this.scales = new Float32Array(bytes.buffer, bytes.byteOffset, rows); // [L, H, S] row maxima
    this.values = bytes.subarray(rows * 4); // [L, H, S, S] as fractions of the row maximum, in 255ths
  }

  /** A[layer, head, query, :], S values; head -1 is the mean over heads. */
  row(layer: number, head: number, query: number): Float32Array {
    if (head < 0) return this.meanRow(layer, query);
    const s = this.size;
    const at = (layer * this.heads + head) * s + query;
    const scale = this.scales[at] / 255;
    const out = new Float32Array(s);
    for (let k = 0; k < s; k++) out[k] = this.values[at * s + k] * scale;
    return out;
  }

  private meanRow(layer: number, query: number): Float32Array {
    const out = new Float32Array(this.size);
    for (let h = 0; h < this.heads; h++) {
      const r = this.row(layer, h, query);
      for (let k = 0; k < this.size; k++) out[k] += r[k] / this.heads;
    }
    return out;
  }

  /** One layer's [H, S, S] values, row-major: a `trace` tensor without its batch axis. */
  layerValues(layer: number): Float32Array {
    const s = this.size;
    const out = new Float32Array(this.heads * s * s);
    for (let h = 0; h < this.heads; h++) for (let q = 0; q < s; q++) out.set(this.row(layer, h, q), (h * s + q) * s);
    return out;
  }
}
