/**
 * ToTensor + Normalize, in float32 arithmetic like torch: `x = uint8 / 255` (ToTensor divides a float32
 * tensor), then `(x - mean) / std` with mean and std as float32 tensors. Each step is rounded to float32 with
 * Math.fround; a double result rounded once to float32 equals the float32 operation here (53 >= 2*24 + 2 bits,
 * so double rounding cannot bite for +, -, / of float32 inputs), which is why the output matches torch bit for bit.
 */

/** [S, S, 3] RGB bytes (HWC) -> normalized float32 [3, S, S] (CHW), the layout the vision tower takes. */
export function normalizeToCHW(rgb: Uint8Array, size: number, mean: readonly [number, number, number], std: readonly [number, number, number]): Float32Array {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    // A lookup table per channel: only 256 distinct inputs, so compute each once.
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(Math.fround(v / 255) - m) / s);
    for (let p = 0; p < plane; p++) out[c * plane + p] = table[rgb[p * 3 + c]];
  }
  return out;
}
