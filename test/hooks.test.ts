/**
 * Hooks beyond capture: an edit replaces an activation (here: ablating one attention head), the identity
 * edit changes nothing, gradients flow through the forward pass with tf.grad, and globs select by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeResult, forward } from '../src/api/forward.js';
import { useBackend } from '../src/backends/select.js';
import { UserError } from '../src/errors.js';
import { Hooks, globToRegExp } from '../src/model/hooks.js';
import { loadModel } from '../src/model/load.js';
import { FIXTURES } from './helpers.js';

test('globs match hook names; * spans dots', () => {
  assert.ok(globToRegExp('visual.trunk.blocks.*.attn.probs').test('visual.trunk.blocks.11.attn.probs'));
  assert.ok(globToRegExp('visual.*').test('visual.trunk.norm'));
  assert.ok(!globToRegExp('visual.trunk.norm').test('visual.trunk.norm1'));
});

test('ablating a head changes the output; an identity edit does not; grads flow', async () => {
  await useBackend('cpu');
  const model = await loadModel(path.join(FIXTURES, 'tiny'));
  const px = tf.randomNormal([1, 3, 64, 64], 0, 1, 'float32', 7) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const run = (hooks?: Hooks) => tf.tidy(() => model.encodeImage(px, hooks).dataSync().slice());
  const plain = run();
  const same = run(new Hooks({ edits: [{ pattern: '*', fn: (x) => tf.mul(x, 1) }] }));
  assert.deepEqual(same, plain);
  // Zero head 0's attention probabilities in block 1: [B, H, S, S] -> keep heads 1..H-1.
  const ablate = new Hooks({
    edits: [{ pattern: 'visual.trunk.blocks.1.attn.probs', fn: (p) => tf.mul(p, tf.tensor([0, 1], [1, 2, 1, 1])) }],
    capture: ['visual.trunk.blocks.1.attn.probs'],
  });
  const ablated = run(ablate);
  const diff = Math.max(...Array.from(plain, (v, i) => Math.abs(v - ablated[i])));
  console.log(`head ablation moved the image features by up to ${diff.toExponential(2)}`);
  assert.ok(diff > 1e-6);
  const captured = ablate.captured.get('visual.trunk.blocks.1.attn.probs')!;
  assert.equal(
    tf.tidy(() => tf.sum(tf.slice(captured, [0, 0, 0, 0], [-1, 1, -1, -1])).dataSync()[0]),
    0,
    'capture sees the edited value',
  );
  ablate.dispose();
  // d(sum of features)/d(pixels) through every layer. tfjs-core ships no gradient functions; the full
  // @tensorflow/tfjs package registers them on import (documented in the README).
  await import('@tensorflow/tfjs');
  const grad = tf.tidy(() => tf.sum(tf.abs(tf.grad((x: tf.Tensor) => tf.sum(model.encodeImage(x as tf.Tensor4D)))(px))).dataSync()[0]);
  assert.ok(Number.isFinite(grad) && grad > 0, `gradient norm ${grad}`);
  assert.equal(tf.memory().numTensors, before);
  px.dispose();
  model.dispose();
});

test('a pattern that matches no hook point is an error naming the closest names, before anything runs', async () => {
  await useBackend('cpu');
  const model = await loadModel(path.join(FIXTURES, 'tiny'));
  const pixelValues = tf.zeros([1, 3, 64, 64]) as tf.Tensor4D;
  const inputIds = tf.tensor2d([[2, 5, 3]], [1, 3], 'int32');
  const before = tf.memory().numTensors;
  const fails = (opts: Parameters<typeof forward>[2], inputs: Parameters<typeof forward>[1], message: RegExp) =>
    assert.throws(
      () => forward(model, inputs, opts),
      (err: unknown) => {
        assert.ok(err instanceof UserError && err.exitCode === 2, String(err));
        assert.match(err.message, message);
        console.log(err.message);
        return true;
      },
    );
  // The typo an ablation study must never survive: 'block' for 'blocks'. Nothing is ablated silently.
  const zero = { fn: (x: tf.Tensor) => tf.zerosLike(x) };
  fails(
    { edits: [{ pattern: 'visual.trunk.block.1.attn.probs', ...zero }] },
    { pixelValues },
    /edit pattern 'visual\.trunk\.block\.1\.attn\.probs' matches no hook point; closest: visual\.trunk\.blocks\.1\.attn\.probs/,
  );
  fails(
    { capture: ['text.transformer.encoder.layers.*'] },
    { inputIds },
    /capture pattern 'text\.transformer\.encoder\.layers\.\*' matches no hook point; closest: text\.transformer\.encoder\.layer\.\*/,
  );
  fails({ capture: ['text.*.probs'] }, { pixelValues }, /matches only hooks of the text tower, which does not run on these inputs; pass --text/);
  // The same patterns with both towers running, or spelled right, are fine.
  const ok = forward(model, { pixelValues, inputIds }, { capture: ['text.*.probs'] });
  assert.deepEqual(
    [...ok.hooks.captured.keys()],
    ['text.transformer.encoder.layer.0.attention.self.probs', 'text.transformer.encoder.layer.1.attention.self.probs'],
  );
  disposeResult(ok);
  assert.equal(tf.memory().numTensors, before, 'a refused pattern leaves no tensor behind');
  tf.dispose([pixelValues, inputIds]);
  model.dispose();
});
