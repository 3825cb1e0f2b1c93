/**
 * safetensors reader/writer: round trips of every dtype, exact f16/bf16 widening, f32→f16 rounding, the
 * streaming writer's ordering and atomicity, and hostile files that must each give one UserError line
 * without a large allocation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import {
  SafetensorsFile,
  SafetensorsWriter,
  writeSafetensors,
  f16ToF32,
  bf16ToF32,
  f32ToF16,
  DTYPE_SIZE,
  type DType,
  type TensorToWrite,
} from '../src/weights/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'st-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const tmpFile = (name = 'f') => path.join(dir, `${name}-${counter++}.safetensors`);

function sample(dtype: DType, n: number): ArrayBufferView {
  const ramp = (i: number) => i * 37 - 50;
  switch (dtype) {
    case 'F64':
      return Float64Array.from({ length: n }, (_, i) => ramp(i) / 7);
    case 'F32':
      return Float32Array.from({ length: n }, (_, i) => ramp(i) / 7);
    case 'F16':
    case 'BF16':
    case 'I16':
      return Int16Array.from({ length: n }, (_, i) => ramp(i) * 11);
    case 'I64':
      return BigInt64Array.from({ length: n }, (_, i) => BigInt(ramp(i)) * 10n ** 15n);
    case 'I32':
      return Int32Array.from({ length: n }, (_, i) => ramp(i) * 100000);
    case 'I8':
      return Int8Array.from({ length: n }, (_, i) => ramp(i) % 128);
    case 'U8':
      return Uint8Array.from({ length: n }, (_, i) => (i * 29) & 255);
    case 'BOOL':
      return Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  }
}

const bytesOf = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

test('round trip of every dtype with metadata, shapes and aligned offsets', async () => {
  const dtypes: DType[] = ['BOOL', 'U8', 'I8', 'I16', 'F16', 'BF16', 'I32', 'F32', 'I64', 'F64'];
  const tensors: TensorToWrite[] = dtypes.map((dtype, i) => ({
    name: `t.${dtype}`,
    dtype,
    shape: [i + 1, 3],
    data: sample(dtype, (i + 1) * 3),
  }));
  tensors.push({ name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([2.5]) });
  tensors.push({ name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) });
  const file = tmpFile();
  await writeSafetensors(file, tensors, { format: 'pt', note: 'ünïcode ✓' });
  const st = await SafetensorsFile.open(file);
  try {
    assert.deepEqual(st.metadata, { format: 'pt', note: 'ünïcode ✓' });
    assert.equal(st.tensors.size, tensors.length);
    for (const t of tensors) {
      const info = st.tensors.get(t.name)!;
      assert.equal(info.dtype, t.dtype);
      assert.deepEqual(info.shape, t.shape);
      assert.equal(info.byteOffset % DTYPE_SIZE[t.dtype], 0, `${t.name} aligned`);
      assert.deepEqual(await st.readRaw(t.name), bytesOf(t.data));
    }
    assert.deepEqual(await st.readFloat32('t.F32'), tensors.find((t) => t.name === 't.F32')!.data);
    assert.deepEqual(await st.readFloat32('scalar'), new Float32Array([2.5]));
    await assert.rejects(st.readFloat32('t.I32'), (e: unknown) => e instanceof UserError && /I32/.test(e.message));
    await assert.rejects(st.readRaw('nope'), UserError);
  } finally {
    await st.close();
  }
  const leftovers = (await fs.readdir(dir)).filter((f) => f.includes('.tmp-'));
  assert.deepEqual(leftovers, []);
});

test('f16 widening is exact, including subnormals, infinities, NaN and -0', () => {
  const bits = new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x3555]);
  const v = f16ToF32(bits);
  const expected = [0, -0, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 1, -2, 65504, Infinity, -Infinity, NaN, 0.333251953125];
  expected.forEach((e, i) => assert.ok(Object.is(v[i], e), `0x${bits[i].toString(16)} -> ${v[i]}, expected ${e}`));
});

test('bf16 widening is exact, including f32 subnormals, infinities and NaN', () => {
  const bits = new Uint16Array([0x3f80, 0xbf80, 0x0001, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0x4049]);
  const v = bf16ToF32(bits);
  const expected = [1, -1, 2 ** -133, -0, Infinity, -Infinity, NaN, 3.140625];
  expected.forEach((e, i) => assert.ok(Object.is(v[i], e), `0x${bits[i].toString(16)} -> ${v[i]}, expected ${e}`));
});

test('f32 -> f16 rounds to nearest even and round-trips every f16 value', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = f32ToF16(f16ToF32(all));
  for (let i = 0; i < 65536; i++) {
    const isNaN16 = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (isNaN16) assert.ok((back[i] & 0x7c00) === 0x7c00 && (back[i] & 0x3ff) !== 0, `NaN 0x${i.toString(16)}`);
    else assert.equal(back[i], i, `0x${i.toString(16)}`);
  }
  const cases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // tie -> even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
    [65520, 0x7c00], // rounds past the largest f16 -> inf
    [65519, 0x7bff],
    [2 ** -25, 0x0000], // exactly half the smallest subnormal: tie -> 0
    [3 * 2 ** -26, 0x0001],
    [1e-10, 0x0000],
    [-1e10, 0xfc00],
    [2 ** -14 - 2 ** -25, 0x0400], // largest subnormal + half ulp rounds up into the normals
  ];
  const out = f32ToF16(new Float32Array(cases.map((c) => c[0])));
  cases.forEach(([x, e], i) => assert.equal(out[i], e, `${x} -> 0x${out[i].toString(16)}, expected 0x${e.toString(16)}`));
});

test('streaming writer: order and sizes enforced, abort and failures leave no file', async () => {
  const file = tmpFile('stream');
  const specs = [
    { name: 'a', dtype: 'F32' as const, shape: [2] },
    { name: 'b', dtype: 'F16' as const, shape: [3] },
  ];
  const w = await SafetensorsWriter.create(file, specs, { k: 'v' });
  await assert.rejects(w.write('b', new Uint16Array(3)), /expected tensor "a"/);
  await assert.rejects(w.write('a', new Float32Array(3)), /12 bytes, header says 8/);
  await w.write('a', new Float32Array([1, 2]));
  await assert.rejects(w.commit(), /only 1 of 2/);
  await w.write('b', f32ToF16(new Float32Array([0.5, -1, 3])));
  await w.commit();
  const st = await SafetensorsFile.open(file);
  assert.deepEqual(await st.readFloat32('b'), new Float32Array([0.5, -1, 3]));
  assert.deepEqual(st.metadata, { k: 'v' });
  await st.close();

  const aborted = tmpFile('aborted');
  const w2 = await SafetensorsWriter.create(aborted, specs);
  await w2.write('a', new Float32Array(2));
  await w2.abort();
  await assert.rejects(fs.stat(aborted), { code: 'ENOENT' });
  assert.deepEqual(
    (await fs.readdir(dir)).filter((f) => f.includes('.tmp-')),
    [],
  );
  await assert.rejects(SafetensorsWriter.create(aborted, [specs[0], specs[0]]), /duplicate/);
});

test('a tensor named like an object prototype key or an integer stays a plain tensor', async () => {
  const file = tmpFile();
  await writeSafetensors(file, [
    { name: '__proto__', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
    { name: '7', dtype: 'F32', shape: [1], data: new Float32Array([7]) },
  ]);
  const st = await SafetensorsFile.open(file);
  assert.deepEqual([...st.tensors.keys()], ['__proto__', '7']);
  assert.deepEqual(await st.readFloat32('7'), new Float32Array([7]));
  await st.close();
});

test('readInt32 narrows I64 exactly and refuses, never wraps, a value outside the int32 range', async () => {
  const file = tmpFile('ids');
  const edge = [0n, 2147483647n, -2147483648n, 30521n];
  await writeSafetensors(file, [
    { name: 'ok', dtype: 'I64', shape: [4], data: new BigInt64Array(edge) },
    { name: 'big', dtype: 'I64', shape: [2], data: new BigInt64Array([5n, 2147483648n]) },
    { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
  ]);
  const f = await SafetensorsFile.open(file);
  assert.deepEqual([...(await f.readInt32('ok'))], edge.map(Number));
  await assert.rejects(
    f.readInt32('big'),
    (e: Error) => e instanceof UserError && /"big" holds 2147483648 at index 1, outside the int32 range/.test(e.message),
  );
  await assert.rejects(f.readInt32('w'), (e: Error) => e instanceof UserError && /"w" is F32; token ids must be I64 or I32/.test(e.message));
  await f.close();
});
