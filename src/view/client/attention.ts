/**
 * One input's attention, every layer and head, as the page stores it: 8-bit values with a float32 maximum
 * per row (contract.ts, `PackedAttention`). Rows are decoded on demand, never all at once: a full-size
 * image has 5.6 M values and a hover needs 197 of them. Where the bytes come from (the page's blocks,
 * decode.ts) is not this class's business, so any page that holds such bytes can draw from it.
 */
import type { PackedAttention } from '../contract.js';

/** What the views read of one input's attention, wherever its values are held. */
export interface AttentionMaps {
  readonly layers: number;
  readonly heads: number;
  /** Tokens: queries = keys = S. */
  readonly size: number;
  /** The `trace` hook name of each layer's tensor, in layer order. */
  readonly names: string[];
  /** A[layer, head, query, :], S values; head -1 is the mean over heads. */
  row(layer: number, head: number, query: number): Float32Array;
  /** One layer's [H, S, S] values, row-major: a `trace` tensor without its batch axis. */
  layerValues(layer: number): Float32Array;
}

/** The mean over heads of one query's row. */
function meanRow(a: AttentionMaps, layer: number, query: number): Float32Array {
  const out = new Float32Array(a.size);
  for (let h = 0; h < a.heads; h++) {
    const r = a.row(layer, h, query);
    for (let k = 0; k < a.size; k++) out[k] += r[k] / a.heads;
  }
  return out;
}

/**
 * Attention as float32, exactly as traced: the explorer computes it in the page, so it need not be packed.
 * `layers[l]` is the [1, H, S, S] tensor of layer l.
 */
export class FloatAttention implements AttentionMaps {
  readonly layers: number;
  readonly heads: number;
  readonly size: number;

  constructor(
    private readonly values: Float32Array[],
    shape: readonly number[],
    readonly names: string[],
  ) {
    [, this.heads, this.size] = shape;
    this.layers = values.length;
  }

  row(layer: number, head: number, query: number): Float32Array {
    if (head < 0) return meanRow(this, layer, query);
    const at = (head * this.size + query) * this.size;
    return this.values[layer].slice(at, at + this.size);
  }

  layerValues(layer: number): Float32Array {
    return this.values[layer].slice();
  }
}

export class Attention implements AttentionMaps {
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
    if (head < 0) return meanRow(this, layer, query);
    const s = this.size;
    const at = (layer * this.heads + head) * s + query;
    const scale = this.scales[at] / 255;
    const out = new Float32Array(s);
    for (let k = 0; k < s; k++) out[k] = this.values[at * s + k] * scale;
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
