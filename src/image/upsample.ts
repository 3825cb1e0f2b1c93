/**
 * A patch map brought up to the crop's pixel grid: PyTorch's
 * `F.interpolate(x, size=(S, S), mode='bilinear', align_corners=False)` on a [rows, cols] map. The heatmap
 * picture draws it and the grounding evaluation measures it, so both see the same pixels.
 *
 * align_corners=False puts sample centres at half pixels: output pixel o samples the input at
 * (o + 0.5) · n / S − 0.5, clamped below at 0 (PyTorch's area_pixel_compute_source_index), and at the far
 * edge the right/bottom neighbour is the last sample itself (PyTorch's `index0 < n − 1 ? 1 : 0`), which is
 * the same value as clamping the coordinate at n − 1 as done here. We compute in double precision and round
 * once to float32; PyTorch's CPU kernel computes its coordinates, weights and sums in float32, so values can
 * differ by a few float32 ulps (test/grounding-oracle.test.ts prints the largest difference).
 */
export function upsampleBilinear(map: ArrayLike<number>, rows: number, cols: number, size: number): Float32Array {
  if (map.length !== rows * cols) throw new RangeError(`upsampleBilinear: the map has ${map.length} values, not ${rows} x ${cols}`);
  const out = new Float32Array(size * size);
  const xs = taps(cols, size);
  const ys = taps(rows, size);
  for (let y = 0; y < size; y++) {
    const [y0, y1, wy] = [ys.i0[y], ys.i1[y], ys.w[y]];
    for (let x = 0; x < size; x++) {
      const [x0, x1, wx] = [xs.i0[x], xs.i1[x], xs.w[x]];
      const top = map[y0 * cols + x0] * (1 - wx) + map[y0 * cols + x1] * wx;
      const bottom = map[y1 * cols + x0] * (1 - wx) + map[y1 * cols + x1] * wx;
      out[y * size + x] = top * (1 - wy) + bottom * wy;
    }
  }
  return out;
}

/** For each output position along one axis: the two input samples it mixes and the second one's weight. */
function taps(n: number, size: number): { i0: Int32Array; i1: Int32Array; w: Float64Array } {
  const [i0, i1, w] = [new Int32Array(size), new Int32Array(size), new Float64Array(size)];
  for (let o = 0; o < size; o++) {
    const at = Math.min(n - 1, Math.max(0, ((o + 0.5) * n) / size - 0.5));
    i0[o] = Math.floor(at);
    i1[o] = Math.min(n - 1, i0[o] + 1);
    w[o] = at - i0[o];
  }
  return { i0, i1, w };
}
