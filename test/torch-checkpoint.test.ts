/**
 * The torch.save reader against checkpoints written by Debian's torch 1.13: every tensor must equal the
 * float32 reference written by Python (exactly: reading is copying bits, no arithmetic), whatever the
 * storage dtype, strides, sharing, byte order or wrapping.
 */
// test tier: full (PyTorch-made checkpoints: /usr/bin/python3 with torch)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { SafetensorsFile } from '../src/weights/reader.js';
import { TorchCheckpoint } from '../src/weights/torch.js';
import { f16ToF32, f32ToF16 } from '../src/weights/dtype.js';
import { diffStats, reportDiff } from './helpers.js';
import { makeTorchFixtures } from './fixtures/weights/make.js';

let dir = '';
let expected: SafetensorsFile;

before(async () => {
  dir = makeTorchFixtures();
  expected = await SafetensorsFile.open(path.join(dir, 'expected.safetensors'));
});

/** Compares every float tensor of `file` (keys mapped by `rename`) with the reference; returns the count. */
async function compareAll(file: string, opts: { rename?: (k: string) => string; half?: boolean } = {}): Promise<number> {
  const ckpt = await TorchCheckpoint.open(path.join(dir, file));
  let n = 0;
  let worst = 0;
  try {
    for (const [name, info] of ckpt.tensors) {
      const key = opts.rename ? opts.rename(name) : name;
      const ref = expected.tensors.get(key);
      if (!ref) continue; // int buffers and pooler extras are not in the float reference
      assert.deepEqual(info.shape, ref.shape, `${key} shape`);
      const want = await expected.readFloat32(key);
      const got = await ckpt.readFloat32(name);
      // torch's .half() rounds to nearest even, as f32ToF16 does: the f16 file must match bit for bit.
      const target = opts.half ? f16ToF32(f32ToF16(want)) : want;
      assert.deepEqual(got, target, `${file}: ${key}`);
      worst = Math.max(worst, diffStats(got, target).maxAbs);
      n++;
    }
  } finally {
    await ckpt.close();
  }
  reportDiff(`${file} vs torch reference (${n} tensors)`, { maxAbs: worst, maxRel: 0, cosine: 1 }, 0);
  return n;
}

const ALL_FLOAT = () => expected.tensors.size;

test('plain float32 checkpoint', async () => {
  assert.equal(await compareAll('tiny.pt'), ALL_FLOAT());
  const ckpt = await TorchCheckpoint.open(path.join(dir, 'tiny.pt'));
  const ids = ckpt.tensors.get('text.transformer.embeddings.position_ids')!;
  assert.equal(ids.dtype, 'I64');
  assert.deepEqual(ids.shape, [1, 512]);
  const raw = await ckpt.readRaw(ids.name);
  assert.deepEqual([...new BigInt64Array(raw.buffer, 0, 4)], [0n, 1n, 2n, 3n]);
  assert.deepEqual(ckpt.tensors.get('logit_scale')!.shape, []);
  assert.equal(ckpt.byteOrder, 'little');
  await assert.rejects(ckpt.readFloat32(ids.name), UserError);
  await ckpt.close();
});

test('float16 checkpoint widens exactly', async () => {
  assert.equal(await compareAll('tiny_f16.pt', { half: true }), ALL_FLOAT());
});

test('non-contiguous views: transposed, fused q/k/v slices of one storage, strided slice', async () => {
  const ckpt = await TorchCheckpoint.open(path.join(dir, 'tiny_views.pt'));
  const q = ckpt.tensors.get('text.transformer.encoder.layer.0.attention.self.query.weight')!;
  const v = ckpt.tensors.get('text.transformer.encoder.layer.0.attention.self.value.weight')!;
  assert.equal(q.storage, v.storage, 'q and v share one storage');
  assert.equal(v.offset, 2 * 32 * 32);
  assert.deepEqual(ckpt.tensors.get('visual.trunk.blocks.0.attn.proj.weight')!.stride, [1, 32]);
  assert.deepEqual(ckpt.tensors.get('visual.trunk.pos_embed')!.stride, [17 * 64, 64, 2]);
  await ckpt.close();
  assert.equal(await compareAll('tiny_views.pt'), ALL_FLOAT());
});

test('big-endian storages (byteorder record) are swapped', async () => {
  const ckpt = await TorchCheckpoint.open(path.join(dir, 'tiny_big.pt'));
  assert.equal(ckpt.byteOrder, 'big');
  const raw = await ckpt.readRaw('text.transformer.embeddings.position_ids');
  assert.deepEqual([...new BigInt64Array(raw.buffer, 0, 3)], [0n, 1n, 2n]);
  await ckpt.close();
  assert.equal(await compareAll('tiny_big.pt'), ALL_FLOAT());
});

test('module. prefix and Parameters inside a training checkpoint', async () => {
  assert.equal(await compareAll('tiny_module.pt', { rename: (k) => k.replace(/^module\./, '') }), ALL_FLOAT());
  assert.equal(await compareAll('tiny_wrapped.pt'), ALL_FLOAT());
});

test('legacy (pre-1.6) format gets a re-save instruction', async () => {
  await assert.rejects(TorchCheckpoint.open(path.join(dir, 'tiny_legacy.pt')), (e: unknown) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /legacy \(pre-1\.6\).*re-save it with torch >= 1\.6/);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
});
