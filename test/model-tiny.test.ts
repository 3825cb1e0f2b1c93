/**
 * Per-component and per-tower parity on the committed tiny fixture: every hook tensor, the features and
 * the logits against the independent PyTorch reference (scripts/reference), on the cpu and wasm backends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backend.js';
import { forward, resultTensors, disposeResult } from '../src/api/forward.js';
import { loadModel } from '../src/model/load.js';
import { diffTensors, formatDiffTable } from '../src/parity/compare.js';
import { SafetensorsFile } from '../src/weights/index.js';
import { FIXTURES } from './helpers.js';

const TINY = path.join(FIXTURES, 'tiny');

async function readGolden(): Promise<Map<string, { shape: number[]; data: Float32Array; ints?: Int32Array }>> {
  const f = await SafetensorsFile.open(path.join(TINY, 'golden.safetensors'));
  const out = new Map<string, { shape: number[]; data: Float32Array; ints?: Int32Array }>();
  for (const [name, info] of f.tensors) {
    if (info.dtype === 'I64') {
      const ints = await f.readInt32(name);
      out.set(name, { shape: info.shape, data: Float32Array.from(ints), ints });
    } else {
      out.set(name, { shape: info.shape, data: await f.readFloat32(name) });
    }
  }
  await f.close();
  return out;
}

for (const backend of ['cpu', 'wasm']) {
  test(`tiny model matches the PyTorch reference on ${backend} (every hook, features, logits)`, async () => {
    await useBackend(backend);
    const golden = await readGolden();
    const model = await loadModel(TINY);
    const before = tf.memory().numTensors;
    const px = golden.get('inputs.pixel_values')!;
    const ids = golden.get('inputs.input_ids')!;
    const pixelValues = tf.tensor4d(px.data, px.shape as [number, number, number, number]);
    const inputIds = tf.tensor2d(ids.ints!, ids.shape as [number, number], 'int32');
    const result = forward(model, { pixelValues, inputIds }, { capture: ['*'] });
    const ours = resultTensors(result);
    const rows = [];
    for (const [name, ref] of golden) {
      if (name.startsWith('inputs.') || name === 'outputs.logit_scale') continue;
      const mine = ours.get(name);
      assert.ok(mine, `our trace has no '${name}'`);
      rows.push(diffTensors(name, { shape: mine.shape, data: mine.dataSync() as Float32Array }, ref));
    }
    console.log(`${backend}:\n${formatDiffTable(rows)}`);
    const failed = rows.filter((r) => !r.pass).map((r) => r.name);
    assert.deepEqual(failed, [], `hooks over tolerance: ${failed.join(', ')}`);
    assert.ok(rows.length >= 50, `compared ${rows.length} tensors`);
    disposeResult(result);
    pixelValues.dispose();
    inputIds.dispose();
    assert.equal(tf.memory().numTensors, before, 'forward leaked tensors');
    model.dispose();
  });
}
