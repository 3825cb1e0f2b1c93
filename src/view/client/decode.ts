/**
 * Reading the page's embedded data back: the JSON object, and the binary blocks (base64 of gzip, inflated
 * by the browser's own DecompressionStream). Attention is decoded row by row on demand, never all at once:
 * a full-size image has 5.6 M values and a hover needs 197 of them.
 */
type PageData = import('../contract').PageData;
type PackedAttention = import('../contract').PackedAttention;
type ExplainRecord = import('../contract').ExplainRecord;
type LabelScore = import('../contract').LabelScore;
type LensRecord = import('../contract').LensRecord;

function readPageData(): PageData {
  return JSON.parse(document.getElementById('view-data')!.textContent!) as PageData;
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.trim());
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The element of block `id`; blocks after the script exist once the page is parsed. */
async function blockElement(id: string): Promise<HTMLElement> {
  if (!document.getElementById(id) && document.readyState === 'loading') {
    await new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
  }
  return document.getElementById(id)!;
}

/** The `bytes` bytes of block `id`: base64 → gzip → bytes, without any library. */
async function readBlock(id: string, bytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const gz = base64Bytes((await blockElement(id)).textContent!);
  const reader = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const out = new Uint8Array(bytes); // the size is known: no growing buffers, no final copy
  let at = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    out.set(r.value, at);
    at += r.value.length;
  }
  if (at !== bytes) throw new Error(`block ${id}: ${at} bytes instead of ${bytes}`);
  return out;
}

/** One input's attention, every layer and head: 8-bit values with a float32 maximum per row. */
class Attention {
  readonly layers: number;
  readonly heads: number;
  /** Tokens: queries = keys = S. */
  readonly size: number;
  private readonly scales: Float32Array;
  private readonly values: Uint8Array;

  constructor(
    bytes: Uint8Array,
    readonly packed: PackedAttention,
  ) {
    [this.layers, this.heads, this.size] = packed.shape;
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

async function readAttention(packed: PackedAttention): Promise<Attention> {
  return new Attention(await readBlock(packed.block.id, packed.block.bytes), packed);
}

/** The colormap: 256 RGB entries. */
function readLut(data: PageData): Uint8Array<ArrayBuffer> {
  return base64Bytes(data.colormap.lut);
}
