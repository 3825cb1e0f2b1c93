/**
 * The module tree (issue 20): hook points are objects the owning module fires, `children()` is the
 * forward order, `parameters()` is the checkpoint's key table, and `forwardFrom(L)` resumes a tower from
 * a captured residual stream; attention's products follow the policy src/backends/ sets. All on the tiny
 * fixture, so they run in the unit tier.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';
import { perHeadMatMul } from '../src/backends/policies.js';
import type { BiomedCLIPModel } from '../src/model/clip.js';
import { Hooks } from '../src/model/hooks.js';
import { backendPolicy, batchedMatMul, headwiseMatMul } from '../src/model/policy.js';
import { loadModel } from '../src/model/load.js';
import { HookPoint, bindShape, hookPoints, isModule, postOrder } from '../src/model/module.js';
import { modelSpec } from '../src/model/spec.js';
import { FIXTURES } from './helpers.js';

let loaded: BiomedCLIPModel | undefined;
async function tiny(): Promise<BiomedCLIPModel> {
  await useBackend('cpu');
  loaded ??= await loadModel(path.join(FIXTURES, 'tiny'));
  return loaded;
}

/** One image and two texts, the second padded, so the text mask is exercised. */
function inputs(model: BiomedCLIPModel) {
  const s = model.config.vision.imageSize;
  const pixels = tf.randomNormal([1, 3, s, s], 0, 1, 'float32', 11) as tf.Tensor4D;
  const ids = tf.tensor2d(
    [
      [2, 5, 6, 7, 8, 9, 10, 3],
      [2, 7, 3, 0, 0, 0, 0, 0],
    ],
    [2, 8],
    'int32',
  );
  return { pixels, ids };
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

test('a hook point field fires under its full name and a glob captures it', async () => {
  const model = await tiny();
  const probs = model.visual.trunk.blocks[1].attn.probs;
  assert.ok(probs instanceof HookPoint);
  assert.equal(probs.name, 'visual.trunk.blocks.1.attn.probs');
  assert.equal(probs.kind, 'probs');
  assert.equal(model.text.transformer.encoder.layer[0].attention.self.context.name, 'text.transformer.encoder.layer.0.attention.self.context');
  assert.equal(model.visual.trunk.blocks[0].point.name, model.visual.trunk.blocks[0].path, "a module's own point is named by its path");
  const { pixels, ids } = inputs(model);
  const hooks = new Hooks({ capture: ['visual.trunk.blocks.*.attn.probs'] });
  try {
    tf.tidy(() => {
      model.encodeImage(pixels, hooks);
    });
    assert.deepEqual(
      [...hooks.captured.keys()],
      model.visual.trunk.blocks.map((b) => b.attn.probs.name),
    );
    assert.deepEqual(hooks.captured.get(probs.name)!.shape, bindShape(probs.shape, { B: 1, T: 0 }));
    // Firing a point by hand goes through the same name matching.
    const direct = new Hooks({ capture: ['*.attn.probs'] });
    tf.tidy(() => direct.fire(probs, tf.ones([1])));
    assert.deepEqual([...direct.captured.keys()], [probs.name]);
    direct.dispose();
  } finally {
    hooks.dispose();
    tf.dispose([pixels, ids]);
  }
});

test('children() walked depth-first (each module after its children) is the order hooks fire', async () => {
  const model = await tiny();
  const { pixels, ids } = inputs(model);
  const hooks = new Hooks({}, true); // records every name the forward passes through
  tf.tidy(() => {
    model.encodeImage(pixels, hooks);
    model.encodeText(ids, hooks);
  });
  tf.dispose([pixels, ids]);
  const walked = postOrder(model).flatMap((n) => (isModule(n) ? (n.point ? [n.point.name] : []) : [n.name]));
  assert.deepEqual(walked, [...hooks.seen.keys()]);
  assert.deepEqual(
    walked,
    modelSpec(model.config).points.map((p) => p.name),
    'and the order the constructors declared them',
  );
  console.log(`${walked.length} hook points: tree order = firing order = declaration order`);
});

test("hookPoints(tower) is that tower's part of the hook table: towers are told apart by their objects", async () => {
  const { model, points } = modelSpec((await tiny()).config);
  const [visual, text] = [hookPoints(model.visual), hookPoints(model.text)];
  assert.deepEqual(
    [...visual, ...text].map((p) => p.name),
    points.map((p) => p.name),
  );
  assert.ok(visual.every((p) => p.name.startsWith(`${model.visual.path}.`)) && text.every((p) => p.name.startsWith(`${model.text.path}.`)));
  assert.deepEqual(
    hookPoints(model.visual.trunk.blocks[0].attn).map((p) => p.name),
    ['qkv', 'scores', 'probs', 'context', 'proj'].map((n) => `visual.trunk.blocks.0.attn.${n}`).concat('visual.trunk.blocks.0.attn'),
    "a module's walk ends with its own point",
  );
});

test("parameters() of the model is the checkpoint's key table, in order, holding the loaded tensors", async () => {
  const model = await tiny();
  const params = model.parameters();
  assert.deepEqual(
    params.map(([key]) => key),
    [...modelSpec(model.config).params.keys()],
  );
  assert.ok(params.every(([, t]) => t instanceof tf.Tensor && !t.isDisposed));
  assert.equal(params.find(([key]) => key === 'visual.trunk.cls_token')![1], model.visual.trunk.cls_token);
  // replaceParameter swaps exactly the tensor stored under the key, and hands back the old one.
  const norm = model.visual.trunk.norm;
  const original = norm.weight;
  const ones = tf.onesLike(original);
  assert.equal(model.replaceParameter('visual.trunk.norm.weight', ones), original);
  assert.equal(norm.weight, ones);
  assert.equal(model.replaceParameter('visual.trunk.norm.weight', original), ones);
  ones.dispose();
  assert.throws(() => model.replaceParameter('visual.trunk.nope.weight', original), /no parameter/);
});

test('forwardFrom(L) given the residual stream captured entering block L gives the final features (<= 1e-6)', async () => {
  const model = await tiny();
  const { pixels, ids } = inputs(model);
  const { blocks } = model.visual.trunk;
  const layers = model.text.transformer.encoder.layer;
  const hooks = new Hooks({ capture: [...blocks.map((b) => b.point.name), ...layers.map((l) => l.point.name)] });
  try {
    const [image, text] = tf.tidy(() => [model.encodeImage(pixels, hooks), model.encodeText(ids, hooks)]);
    for (let from = 0; from <= blocks.length; from++) {
      const entering =
        from === 0 ? tf.tidy(() => model.visual.trunk.embed(pixels, new Hooks())) : (hooks.captured.get(blocks[from - 1].point.name) as tf.Tensor3D);
      const resumed = tf.tidy(() => model.visual.forwardFrom(entering, from, new Hooks()));
      const d = maxDiff(resumed, image);
      console.log(`image forwardFrom(${from}): max|diff| ${d.toExponential(2)} (tolerance 1e-6)`);
      assert.ok(d <= 1e-6, `image from block ${from}: ${d}`);
      tf.dispose(from === 0 ? [resumed, entering] : resumed);
    }
    for (let from = 1; from <= layers.length; from++) {
      const entering = hooks.captured.get(layers[from - 1].point.name) as tf.Tensor3D;
      const resumed = tf.tidy(() => model.text.forwardFrom(entering, from, ids, new Hooks()));
      const d = maxDiff(resumed, text);
      console.log(`text forwardFrom(${from}): max|diff| ${d.toExponential(2)} (tolerance 1e-6)`);
      assert.ok(d <= 1e-6, `text from layer ${from}: ${d}`);
      resumed.dispose();
    }
    assert.throws(() => model.visual.forwardFrom(image as unknown as tf.Tensor3D, blocks.length + 1, new Hooks()), /not in 0\.\./);
    tf.dispose([image, text]);
  } finally {
    hooks.dispose();
    tf.dispose([pixels, ids]);
  }
});

test('backend policies: wasm registered its layout, per-head attention (equal to the batched form) and in-heap loading; others their layout', async () => {
  await useBackend('wasm'); // loading src/backends/select.ts registered the strategy; the model names no backend
  assert.equal(backendPolicy('wasm').headwiseMatMul, perHeadMatMul);
  assert.equal(backendPolicy('wasm').matrixLayout, 'in-out');
  assert.equal(backendPolicy('wasm').plainProductsOnly, true);
  assert.equal(backendPolicy('cpu').headwiseMatMul, batchedMatMul, 'cpu keeps the batched form');
  assert.equal(backendPolicy('cpu').matrixLayout, 'out-in');
  assert.equal(backendPolicy('webgpu').matrixLayout, 'in-out');
  assert.equal(backendPolicy('no-such-backend').matrixLayout, 'out-in', 'a backend with no policy gets the file layout');
  const a = tf.randomNormal([2, 3, 40, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
  const b = tf.randomNormal([2, 3, 40, 8], 0, 1, 'float32', 2) as tf.Tensor4D;
  try {
    for (const transposeB of [true, false]) {
      const right = transposeB ? b : (tf.transpose(b, [0, 1, 3, 2]) as tf.Tensor4D); // [B, H, K, N]
      const [used, perHead, batched] = [headwiseMatMul(a, right, transposeB), perHeadMatMul(a, right, transposeB), batchedMatMul(a, right, transposeB)];
      assert.equal(maxDiff(used, perHead), 0, 'on wasm the registered per-head form runs');
      const d = maxDiff(perHead, batched);
      console.log(`wasm per-head vs batched products (transposeB ${transposeB}): max|diff| ${d.toExponential(2)} (tolerance 1e-5)`);
      assert.ok(d <= 1e-5);
      tf.dispose(transposeB ? [used, perHead, batched] : [right, used, perHead, batched]);
    }
  } finally {
    tf.dispose([a, b]);
    await useBackend('cpu');
  }
});
