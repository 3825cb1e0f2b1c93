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
 * float16 bit pattern → float32 bit pattern, tabulated once (65,536 entries, 256 KB): a table is both exact and
 * about ten times faster than bit-twiddling per element on the 150 M-element model. Built and copied as bits,
 * never as JS numbers, so even NaN payloads come out as PyTorch's `.float()` gives them (quiet bit set, the
 * f16 payload in the top mantissa bits); test/f16-torch.test.ts checks all 65,536 against torch.
 */
let f16Table: Uint32Array | undefined;

function buildF16Table(): Uint32Array {
  const table = new Uint32Array(65536);
  const asFloat = new Float32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) {
      asFloat[h] = frac * 2 ** -24; // subnormal (or zero): no implicit leading 1, scale 2^-14 * 2^-10; exact in f32
      table[h] |= sign; // -0 and negative subnormals keep their sign
    } else if (exp === 31) {
      table[h] = sign | 0x7f800000 | (frac === 0 ? 0 : 0x400000 | (frac << 13)); // ±inf, or a quiet NaN
    } else {
      table[h] = sign | ((exp - 15 + 127) << 23) | (frac << 13); // re-biased exponent, mantissa padded with zeros
    }
  }
  return table;
}

/**
 * Widens float16 values (as raw bit patterns) to float32, exactly: the one load-time step an f16 model file
 * needs. `out` may be the destination itself (the backend's heap, a reused buffer), so no second copy is made.
 */
export function f16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const table = (f16Table ??= buildF16Table());
  const out32 = new Uint32Array(out.buffer, out.byteOffset, bits.length);
  for (let i = 0; i < bits.length; i++) out32[i] = table[bits[i]];
  return out;
}

/** Widens bfloat16 (the top half of a float32) to float32 by shifting the bits back into place. */
export function bf16ToF32(bits: Uint16Array, out: Float32Array = new Float32Array(bits.length)): Float32Array {
  const u32 = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < bits.length; i++) u32[i] = bits[i] << 16;
  return out;
}

/** The largest finite float16, 65504 = (2 - 2^-10) * 2^15; `convert --dtype f16` refuses weights beyond it. */
export const F16_MAX = 65504;

/**
 * Narrows float32 to float16 bits with round-to-nearest-even, bit for bit as PyTorch's `.half()` (and numpy's
 * `astype(float16)` for every non-NaN): overflow gives ±inf (from 65520 up, which rounds past 65504), tiny values
 * become subnormals or ±0, and any NaN becomes torch's canonical quiet NaN with its sign (0x7e00 / 0xfe00;
 * numpy would keep the payload). test/f16-torch.test.ts checks this against torch's own output.
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
  if (exp === 0xff) return sign | (mant ? 0x7e00 : 0x7c00); // NaN (canonical, as torch) / inf
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
