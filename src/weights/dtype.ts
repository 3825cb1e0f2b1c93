/**
 * Element types of safetensors files and the exact conversions between the float formats.
 *
 * safetensors stores every tensor little-endian and C-contiguous. Half-precision values widen to float32
 * without any rounding (every f16 and bf16 number is exactly representable in f32), so a model stored in
 * f16 computes the same in TypeScript as PyTorch's `.float()` of the same file.
 */

/** The dtypes this project reads and writes (safetensors' names). */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isDType(s: unknown): s is DType {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZE, s);
}

/**
 * Element count of a shape, or undefined when it is not a list of non-negative safe integers or the
 * product leaves the safe-integer range (a hostile header could otherwise overflow into a small size).
 */
export function elementCount(shape: readonly unknown[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/**
 * float16 bit pattern → float32 value, tabulated once (65,536 entries, 256 KB): a table is both exact and
 * about ten times faster than bit-twiddling per element on the 150 M-element model.
 */
let f16Table: Float32Array | undefined;

function buildF16Table(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    let v: number;
    if (exp === 0) v = frac * 2 ** -24; // subnormal: no implicit leading 1, scale 2^-14 * 2^-10
    else if (exp === 31) v = frac === 0 ? Infinity : NaN;
    else v = (1 + frac / 1024) * 2 ** (exp - 15);
    table[h] = sign * v; // keeps -0 for 0x8000
  }
  return table;
}

/** Widens float16 values (as raw bit patterns) to float32, exactly. */
export function f16ToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const table = (f16Table ??= buildF16Table());
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

/** Widens bfloat16 (the top half of a float32) to float32 by shifting the bits back into place. */
export function bf16ToF32(bits: Uint16Array, out = new Float32Array(bits.length)): Float32Array {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u32[i] = bits[i] << 16;
  return out;
}

/**
 * Narrows float32 to float16 bits with round-to-nearest-even, as PyTorch's `.half()` does: overflow gives
 * ±inf, tiny values become subnormals or ±0, NaN stays NaN (quiet).
 */
export function f32ToF16(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  const u32 = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32BitsToF16(u32[i]);
  return out;
}

function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / NaN
  const e = exp - 127 + 15; // re-biased exponent
  if (e >= 31) return sign | 0x7c00; // too large: inf
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: ±0
    // Subnormal: restore the implicit 1, shift right by (14 - e) bits of 24-bit mantissa, round to even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    return sign | roundShift(m, shift);
  }
  // Normal: keep 10 of 23 mantissa bits, round to even; a carry may bump the exponent (even up to inf).
  return sign | roundShift((e << 23) | mant, 13);
}

/** value >> shift, rounded to nearest with ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  if (rest > half || (rest === half && kept & 1)) return kept + 1;
  return kept;
}
