/**
 * `convert --dtype f16` on the demo model (toy width; real image size, tokenizer and 30522-row embedding) and
 * what it costs. The file is half the bytes; every weight the loader hands the model, on cpu and on wasm (which
 * transposes matrices as it loads), is exactly the f32 weight rounded once to f16, so the widening adds
 * nothing; image and text features, embeddings and zero-shot probabilities stay within the stated tolerances
 * of the f32 model (each printed with what was seen). A weight beyond ±65504 is refused, naming it.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';
import { convertCheckpoint } from '../src/convert/convert.js';
import { UserError } from '../src/errors.js';
import { transpose2d, loadModel, loadModelConfig } from '../src/model/load.js';
import { backendPolicy } from '../src/model/policy.js';
import { matrixShape } from '../src/model/module.js';
import { modelSpec } from '../src/model/spec.js';
import { f16ToF32, f32ToF16 } from '../src/weights/dtype.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../src/weights/index.js';
import { f16Fidelity, fidelityTable } from '../scripts/f16_fidelity.js';
import { tempDemoModel } from './helpers.js';

const { dir, model: demo, ready } = tempDemoModel('biomedclip-f16-');
let f16Dir = '';

before(async () => {
  await ready();
  f16Dir = path.join(dir, 'demo-f16');
  await convertCheckpoint({ checkpoint: path.join(demo, 'model.safetensors'), outDir: f16Dir, dtype: 'f16' });
});

/**
 * Tolerances, f16 weights against f32 ones (both computed in f32): features and embeddings within 2e-3 of
 * their largest value (f16 keeps 11 significant bits, a relative step of 4.9e-4 per weight; the demo shows
 * 4-6e-4), cosine above 0.9999, probabilities within 1e-4.
 */
const FEATURE_RTOL = 2e-3;
const PROB_ATOL = 1e-4;

test('f16 features, embeddings and probabilities stay within tolerance of f32 (demo model, cpu)', async () => {
  const r = await f16Fidelity(demo, mkdtempSync(path.join(dir, 'fidelity-')), 'cpu');
  console.log(fidelityTable(r));
  assert.ok(Math.abs(r.bytesF16 / r.bytesF32 - 0.5) < 0.01, `f16 file ${r.bytesF16} bytes vs f32 ${r.bytesF32}`);
  for (const [what, d] of Object.entries({ image: r.imageFeatures, text: r.textFeatures, embeddings: r.embeddings })) {
    console.log(
      `${what}: max|diff| ${d.maxAbs.toExponential(2)} (tolerance ${(FEATURE_RTOL * d.scale).toExponential(2)} = ${FEATURE_RTOL} × ${d.scale.toPrecision(3)})`,
    );
    assert.ok(d.maxAbs > 0, `${what}: f16 rounding changed nothing (was the f16 model loaded?)`);
    assert.ok(d.maxAbs <= FEATURE_RTOL * d.scale && d.cosine > 0.9999, `${what}: ${JSON.stringify(d)}`);
  }
  console.log(`probabilities: max|diff| ${r.probabilities.maxAbs.toExponential(2)} (tolerance ${PROB_ATOL.toExponential(0)})`);
  assert.ok(r.probabilities.maxAbs <= PROB_ATOL, JSON.stringify(r.probabilities));
  assert.equal(r.logitScale.f16, Math.exp(f16ToF32(f32ToF16(new Float32Array([Math.log(100)])))[0]), 'logit_scale is ln 100 rounded once to f16');
});

for (const backend of ['cpu', 'wasm']) {
  test(`every weight loads as the f32 weight rounded once to f16, on ${backend}`, async () => {
    await useBackend(backend);
    const layout = backendPolicy().matrixLayout;
    const { matrices } = modelSpec(loadModelConfig(f16Dir));
    const f32 = await SafetensorsFile.open(path.join(demo, 'model.safetensors'));
    const f16 = await SafetensorsFile.open(path.join(f16Dir, 'model.safetensors'));
    const model = await loadModel(f16Dir);
    try {
      assert.ok([...f16.tensors.values()].every((t) => t.dtype === 'F16'));
      assert.equal(f16.metadata.dtype, 'f16');
      const params = model.parameters();
      assert.equal(params.length, f32.tensors.size);
      for (const [key, t] of params) {
        const info = f32.info(key);
        let want = f16ToF32(f32ToF16(await f32.readFloat32(key)));
        if (matrices.has(key) && layout === 'in-out') {
          const [rows, cols] = matrixShape(info.shape, 'out-in');
          const out = new Float32Array(want.length);
          transpose2d(want, rows, cols, out);
          want = out;
        }
        assert.deepEqual(await t.data(), want, key);
      }
      console.log(`${params.length} weights on ${backend} (${layout} matrices): exactly f16(f32 weight), tolerance 0`);
    } finally {
      model.dispose();
      await f32.close();
      await f16.close();
    }
    assert.equal(tf.memory().numTensors, 0, 'the model left no tensor behind');
  });
}

test('--dtype f16 refuses a weight beyond ±65504 (even one that would round to 65504), naming it; nothing is written', async () => {
  const src = await SafetensorsFile.open(path.join(demo, 'model.safetensors'));
  const tensors: TensorToWrite[] = [];
  for (const [name, info] of src.tensors) tensors.push({ name, dtype: 'F32', shape: info.shape, data: await src.readFloat32(name) });
  await src.close();
  const proj = tensors.find((t) => t.name === 'visual.head.proj.weight')!;
  for (const value of [65505, -70000]) {
    (proj.data as Float32Array)[7] = value;
    const work = mkdtempSync(path.join(dir, 'beyond-'));
    const checkpoint = path.join(work, 'model.safetensors');
    await writeSafetensors(checkpoint, tensors);
    const outDir = path.join(work, 'out');
    await assert.rejects(
      convertCheckpoint({ checkpoint, outDir, config: path.join(demo, 'open_clip_config.json'), dtype: 'f16' }),
      (e: unknown) =>
        e instanceof UserError &&
        new RegExp(`tensor "visual\\.head\\.proj\\.weight" holds ${value} \\(index 7\\), beyond float16's range of ±65504; convert with --dtype f32`).test(
          e.message,
        ),
    );
    assert.equal(existsSync(outDir), false, 'no model directory');
    assert.deepEqual(readdirSync(work), ['model.safetensors'], 'no staging directory left');
    (proj.data as Float32Array)[7] = 65504; // the largest f16 itself converts
    await writeSafetensors(checkpoint, tensors);
    await convertCheckpoint({ checkpoint, outDir, config: path.join(demo, 'open_clip_config.json'), dtype: 'f16' });
    const out = await SafetensorsFile.open(path.join(outDir, 'model.safetensors'));
    assert.equal((await out.readFloat32('visual.head.proj.weight'))[7], 65504);
    await out.close();
  }
});
