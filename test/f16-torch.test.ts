/**
 * float32 ↔ float16 bit for bit as PyTorch does it, in pure TypeScript against a committed fixture of torch's
 * own answers (test/fixtures/f16/torch-half.json, written by scripts/make_f16_fixture.py with Debian's torch):
 * `f32ToF16` must give `.half()`'s bits for every named case (zeros, the largest f16 and the overflow
 * boundary, infinities, NaNs, subnormals of both types, ties to even at every exponent, random values) and for
 * a sweep of about a million float32 bit patterns; `f16ToF32` must give `.float()`'s bits for all 65,536
 * float16 patterns. Tolerance: none (bits); a mismatch prints the first differing inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { f16ToF32, f32ToF16 } from '../src/weights/dtype.js';
import { FIXTURES } from './helpers.js';

interface Fixture {
  made_by: string;
  narrow: { label: string; pairs: string[] }[];
  narrowSweep: { stride: number; count: number; sha256: string };
  widen: { count: number; sha256: string };
}

const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'f16', 'torch-half.json'), 'utf8')) as Fixture;

const sha256 = (view: ArrayBufferView) =>
  createHash('sha256')
    .update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
    .digest('hex');
const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');

test('f32 -> f16 gives torch .half() bits for every named case', () => {
  let compared = 0;
  for (const { label, pairs } of fixture.narrow) {
    const input = Uint32Array.from(pairs, (p) => parseInt(p.split(':')[0], 16));
    const want = Uint16Array.from(pairs, (p) => parseInt(p.split(':')[1], 16));
    const got = f32ToF16(new Float32Array(input.buffer));
    const wrong = [...input.keys()].filter((i) => got[i] !== want[i]);
    const shown = wrong.slice(0, 5).map((i) => `0x${hex(input[i], 8)} -> 0x${hex(got[i], 4)}, torch 0x${hex(want[i], 4)}`);
    assert.equal(wrong.length, 0, `${label}: ${wrong.length} of ${pairs.length} differ: ${shown.join('; ')}`);
    compared += pairs.length;
  }
  console.log(`compared ${compared} named f32 -> f16 cases with ${fixture.made_by}: 0 differ (tolerance: bit-exact)`);
  assert.ok(compared > 500, `only ${compared} cases in the fixture`);
});

test('f32 -> f16 gives torch .half() bits over a sweep of every 4099th float32 bit pattern', () => {
  const { stride, count, sha256: want } = fixture.narrowSweep;
  const input = new Uint32Array(count);
  for (let i = 0; i < count; i++) input[i] = i * stride; // every pattern below 2^32 in steps of `stride`
  assert.equal(input[count - 1] + stride > 2 ** 32 - 1, true, 'the sweep reaches the top of the range');
  const got = f32ToF16(new Float32Array(input.buffer));
  assert.equal(sha256(got), want, `sha256 of ${count} f16 results differs from torch's`);
});

test('f16 -> f32 gives torch .float() bits for all 65,536 float16 patterns, NaN payloads included', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const widened = f16ToF32(all);
  assert.equal(sha256(widened), fixture.widen.sha256, "sha256 of the widened table differs from torch's");
  // The same values written into a larger buffer (as the loader does, into the backend's heap) at an offset.
  const dest = new Float32Array(65536 + 3);
  f16ToF32(all, dest.subarray(3));
  assert.equal(sha256(dest.subarray(3)), fixture.widen.sha256);
  assert.deepEqual([...dest.subarray(0, 3)], [0, 0, 0], 'nothing written before the destination');
});
