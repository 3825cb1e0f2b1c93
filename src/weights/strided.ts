/**
 * PyTorch tensors are views into a flat storage: element [i0, i1, ...] lives at
 * `offset + i0*stride[0] + i1*stride[1] + ...` (in elements). A transposed weight or a slice of a fused
 * qkv storage is saved as such a view; reading it means gathering its elements into C order.
 */

export interface StridedView {
  /** Storage offset of element [0, 0, ...], in elements. */
  offset: number;
  shape: number[];
  /** Elements to skip per step along each dimension. */
  stride: number[];
}

/** One past the furthest storage element the view touches (its offset alone for an empty view). */
export function viewExtent(v: StridedView): number {
  if (v.shape.some((d) => d === 0)) return v.offset;
  let last = v.offset;
  for (let i = 0; i < v.shape.length; i++) last += (v.shape[i] - 1) * v.stride[i];
  return last + 1;
}

/** True when the view's elements are already consecutive in C order (then one copy suffices). */
function isContiguous(v: StridedView): boolean {
  let expected = 1;
  for (let i = v.shape.length - 1; i >= 0; i--) {
    if (v.shape[i] !== 1 && v.stride[i] !== expected) return false;
    expected *= v.shape[i];
  }
  return true;
}

/**
 * Copies the view's elements (each `elemSize` bytes) into a new C-contiguous buffer. Runs along the last
 * dimension are copied as blocks when its stride is 1; otherwise element by element. The caller has
 * checked that `viewExtent(v) * elemSize <= storage.length`.
 */
export function gatherStrided(storage: Uint8Array, v: StridedView, elemSize: number): Uint8Array {
  const count = v.shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(count * elemSize);
  if (count === 0) return out;
  if (isContiguous(v)) {
    out.set(storage.subarray(v.offset * elemSize, (v.offset + count) * elemSize));
    return out;
  }
  const rank = v.shape.length;
  const inner = v.shape[rank - 1];
  const innerStride = v.stride[rank - 1];
  const index = new Array<number>(rank - 1).fill(0); // odometer over all but the last dimension
  let base = v.offset;
  for (let o = 0; o < count; o += inner) {
    copyRun(storage, out, base, o, inner, innerStride, elemSize);
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      base += v.stride[d];
      if (index[d] < v.shape[d]) break;
      base -= v.shape[d] * v.stride[d];
      index[d] = 0;
    }
  }
  return out;
}

/** Copies `n` elements starting at storage element `from` (step `step`) to output element `to`. */
function copyRun(src: Uint8Array, dst: Uint8Array, from: number, to: number, n: number, step: number, size: number): void {
  if (step === 1) {
    dst.set(src.subarray(from * size, (from + n) * size), to * size);
    return;
  }
  for (let k = 0; k < n; k++) {
    const s = (from + k * step) * size;
    const d = (to + k) * size;
    for (let b = 0; b < size; b++) dst[d + b] = src[s + b];
  }
}

/** Reverses the bytes of each `size`-byte element in place (big-endian storage → little-endian). */
export function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}
