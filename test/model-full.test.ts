/**
 * Full-size parity (768 wide, 12 layers, 30522-row embedding): a seeded random BiomedCLIP built by the
 * independent PyTorch reference (scripts/reference, Debian's python3-torch) against ours, on the cpu and
 * wasm backends, for 2 images and 3 texts: every hook tensor, the features and the logits. Then the
 * padding invariance: texts padded to their longest member give the features of padding to 256. And the
 * explanation methods against torch autograd on this model (the tiny-model checks: explain-oracle.test).
 * Takes a few minutes: the model is generated (784 MB, ~25 s) into a temp dir and deleted afterwards.
 */
// test tier: full (the 784 MB full-size model and its PyTorch reference)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';
import { loadModel } from '../src/model/load.js';
import { SafetensorsFile } from '../src/weights/index.js';
import { convertCheckpoint } from '../src/convert/convert.js';
import { explain, METHODS } from '../src/inspect/explain.js';
import { REPO_ROOT, TORCH_PYTHON, diffStats, reportDiff, testBackends } from './helpers.js';
import { checkAgainstGolden } from './support/golden-parity.js';
import { assertChecks, checkMap, goldenPair, runOracle, type MapCheck } from './support/explain-oracle.js';

let dir = '';
let golden: SafetensorsFile;
let ids: { shape: number[]; data: Int32Array };

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-full-'));
  const script = path.join(REPO_ROOT, 'scripts', 'reference', 'make_reference.py');
  execFileSync(TORCH_PYTHON, [script, '--size', 'full', '--seed', '0', '--out', dir, '--torch-bin'], { stdio: ['ignore', 'ignore', 'inherit'] });
  golden = await SafetensorsFile.open(path.join(dir, 'golden.safetensors'));
  ids = { shape: golden.tensors.get('inputs.input_ids')!.shape, data: await golden.readInt32('inputs.input_ids') };
});

after(async () => {
  await golden?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const backend of testBackends(['cpu', 'wasm'])) {
  test(`full-size model matches the PyTorch reference on ${backend}: 2 images, 3 texts, every hook`, async () => {
    await useBackend(backend);
    const model = await loadModel(dir);
    assert.equal(model.parameterCount(), 195_902_721);
    const rows = await checkAgainstGolden(model, golden, backend);
    for (const r of rows.filter((x) => x.name.endsWith('_features'))) assert.ok(r.cosine >= 0.99999, `${r.name} cosine ${r.cosine}`);
    model.dispose();
  });
}

test('padding texts to the longest gives the features of padding to 256 (full size, wasm)', async () => {
  await useBackend('wasm');
  const model = await loadModel(dir);
  const [n, t] = ids.shape;
  const padded = new Int32Array(n * 256); // [PAD] = 0 fills the rest of each row
  for (let i = 0; i < n; i++) padded.set(ids.data.subarray(i * t, (i + 1) * t), i * 256);
  const [short, long] = tf.tidy(() => [model.encodeText(tf.tensor2d(ids.data, [n, t], 'int32')), model.encodeText(tf.tensor2d(padded, [n, 256], 'int32'))]);
  const stats = diffStats(await short.data(), await long.data());
  reportDiff('text features, longest vs 256 padding', stats, 1e-5);
  assert.ok(stats.maxAbs <= 1e-5);
  tf.dispose([short, long]);
  model.dispose();
});

test('a torch.save full-size checkpoint converts to exactly the reference weights', async () => {
  const out = path.join(dir, 'converted');
  const report = await convertCheckpoint({
    checkpoint: path.join(dir, 'open_clip_pytorch_model.bin'),
    outDir: out,
    config: path.join(dir, 'open_clip_config.json'),
  });
  assert.equal(report.parameters, 195_902_721);
  const ours = await SafetensorsFile.open(path.join(out, 'model.safetensors'));
  const ref = await SafetensorsFile.open(path.join(dir, 'model.safetensors'));
  let maxAbs = 0;
  for (const name of ref.tensors.keys()) {
    const [a, b] = [await ours.readFloat32(name), await ref.readFloat32(name)];
    for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
  }
  console.log(`converted vs reference weights: max|diff| ${maxAbs} over ${ref.tensors.size} tensors (tolerance 0)`);
  assert.equal(maxAbs, 0);
  assert.equal(ours.tensors.size, ref.tensors.size, 'position_ids dropped, nothing else');
  await ours.close();
  await ref.close();
});

test('explanation methods match torch autograd at full size on wasm: attention, rollout, relevance (both towers), Grad-CAM, LeGrad', async () => {
  const oracle = await runOracle(dir, ['--image', '0', '--text', '2']); // the 17-token text
  await useBackend('wasm');
  const model = await loadModel(dir);
  const start = tf.memory().numTensors;
  const pair = await goldenPair(dir, 0, oracle);
  const checks: MapCheck[] = [];
  for (const e of await explain(model, pair, METHODS)) {
    checks.push(checkMap(`${e.method}.image`, e.imageMap, oracle.get(`${e.method}.image`)));
    if (e.textMap) checks.push(checkMap(`${e.method}.text`, e.textMap, oracle.get(`${e.method}.text`)));
  }
  assertChecks('full size, wasm', checks);
  tf.dispose([pair.pixels, pair.ids]);
  assert.equal(tf.memory().numTensors, start, 'the methods leaked tensors');
  model.dispose();
});
