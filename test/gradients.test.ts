/**
 * Our gradient rules (src/inspect/gradients.ts) against the full @tensorflow/tfjs package's, kernel by
 * kernel, on the cpu and wasm backends: the same small functions differentiated first with ours alone
 * registered, then with the package's. Broadcasting, every matMul transpose combination, an unused split
 * or unstacked piece and a slice with size -1 are covered, because the model uses them. Tolerance 1e-5 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';
import { GRADIENTS, registerGradients } from '../src/inspect/gradients.js';

const BACKENDS = ['cpu', 'wasm'];

/** Seeded inputs, and a weighting so that dy is not all ones. */
const r = (shape: number[], seed: number, positive = false) => {
  const t = tf.randomUniform(shape, positive ? 0.5 : -2, 2, 'float32', seed);
  return t;
};

/** name -> [inputs, f(inputs) -> tensor]; each case's gradient is d(Σ w ⊙ f)/d(inputs). */
const CASES: Record<string, () => [tf.Tensor[], (...x: tf.Tensor[]) => tf.Tensor]> = {
  'Add (broadcast [4])': () => [[r([2, 3, 4], 1), r([4], 2)], (a, b) => tf.add(a, b)],
  'Sub (broadcast [3,1])': () => [[r([2, 3, 4], 3), r([3, 1], 4)], (a, b) => tf.sub(a, b)],
  'Multiply (broadcast scalar)': () => [[r([2, 3, 4], 5), r([], 6)], (a, b) => tf.mul(a, b)],
  'RealDiv (broadcast [2,3,1])': () => [[r([2, 3, 4], 7), r([2, 3, 1], 8, true)], (a, b) => tf.div(a, b)],
  // Same shapes: the package's Maximum rule does not sum over broadcast axes (ours does, like Add's).
  Maximum: () => [[r([2, 3, 4], 9), r([2, 3, 4], 10)], (a, b) => tf.maximum(a, b)],
  'BatchMatMul a·b rank 4': () => [[r([2, 3, 4, 5], 11), r([2, 3, 5, 6], 12)], (a, b) => tf.matMul(a, b)],
  'BatchMatMul a·bᵀ rank 4': () => [[r([2, 3, 4, 5], 13), r([2, 3, 6, 5], 14)], (a, b) => tf.matMul(a, b, false, true)],
  'BatchMatMul aᵀ·b rank 3': () => [[r([3, 5, 4], 15), r([3, 5, 6], 16)], (a, b) => tf.matMul(a, b, true, false)],
  'BatchMatMul aᵀ·bᵀ rank 2': () => [[r([5, 4], 17), r([6, 5], 18)], (a, b) => tf.matMul(a, b, true, true)],
  // Rank 2 takes another path on wasm (flags turned into transposes: XNNPACK multiplies only plain x·y).
  'BatchMatMul a·b rank 2': () => [[r([4, 5], 30), r([5, 6], 31)], (a, b) => tf.matMul(a, b)],
  'BatchMatMul a·bᵀ rank 2': () => [[r([4, 5], 32), r([6, 5], 33)], (a, b) => tf.matMul(a, b, false, true)],
  'Pack and Unpack (one piece unused)': () => [
    [r([3, 4, 5], 34)],
    (a) => {
      const [p, , q] = tf.unstack(a, 1).slice(0, 3);
      return tf.stack([p, tf.mul(q, 2)], 2);
    },
  ],
  Reshape: () => [[r([2, 3, 4], 19)], (a) => tf.reshape(a, [6, 4])],
  Transpose: () => [[r([2, 3, 4, 5], 20)], (a) => tf.transpose(a, [0, 2, 1, 3])],
  'SplitV (one piece unused)': () => [
    [r([2, 3, 6], 21)],
    (a) => {
      const [p, , q] = tf.split(a, 3, 2);
      return tf.add(p, tf.mul(q, 2));
    },
  ],
  'Slice (size -1)': () => [[r([2, 5, 4], 22)], (a) => tf.slice(a, [0, 1, 0], [-1, 2, -1])],
  Softmax: () => [[r([2, 3, 7], 23)], (a) => tf.softmax(a)],
  'Sum (axis 1)': () => [[r([2, 3, 4], 24)], (a) => tf.sum(a, 1)],
  'Mean (last axis, keepDims)': () => [[r([2, 3, 4], 25)], (a) => tf.mean(a, -1, true)],
  Square: () => [[r([2, 3], 26)], (a) => tf.square(a)],
  Sqrt: () => [[r([2, 3], 27, true)], (a) => tf.sqrt(a)],
  Rsqrt: () => [[r([2, 3], 28, true)], (a) => tf.rsqrt(a)],
  Erf: () => [[r([2, 3], 29)], (a) => tf.erf(a)],
};

async function gradientsOfAllCases(): Promise<Map<string, Float32Array[]>> {
  const out = new Map<string, Float32Array[]>();
  for (const backend of BACKENDS) {
    await useBackend(backend);
    for (const [name, make] of Object.entries(CASES)) {
      const [inputs, f] = make();
      const grads = tf.grads((...x: tf.Tensor[]) => {
        const y = f(...x);
        return tf.sum(tf.mul(y, tf.randomUniform(y.shape, -1, 1, 'float32', 99)));
      })(inputs);
      out.set(`${backend}: ${name}`, await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)));
      tf.dispose([...inputs, ...grads]);
    }
  }
  return out;
}

test("our gradient rules equal @tensorflow/tfjs's, kernel by kernel, on cpu and wasm", async () => {
  registerGradients();
  for (const g of GRADIENTS) assert.equal(tf.getGradient(g.kernelName), g, `${g.kernelName} is ours`);
  const ours = await gradientsOfAllCases();
  // Swap in the full package's rules (it registers all of them on import; ours step aside first).
  for (const g of GRADIENTS) tf.unregisterGradient(g.kernelName);
  await import('@tensorflow/tfjs');
  const theirs = await gradientsOfAllCases();
  let worst = 0;
  for (const [name, grads] of ours) {
    grads.forEach((g, i) => {
      const ref = theirs.get(name)![i];
      assert.equal(g.length, ref.length, name);
      for (let j = 0; j < g.length; j++) {
        const rel = Math.abs(g[j] - ref[j]) / Math.max(Math.abs(ref[j]), 1e-6);
        worst = Math.max(worst, rel);
        assert.ok(rel <= 1e-5, `${name}, input ${i}[${j}]: ours ${g[j]}, tfjs ${ref[j]}`);
      }
    });
  }
  console.log(`${ours.size} kernel cases on ${BACKENDS.join(' and ')}: worst relative difference ${worst.toExponential(2)} (tolerance 1e-5)`);
  // registerGradients leaves rules already present alone: the package's stay.
  registerGradients();
  for (const g of GRADIENTS) assert.notEqual(tf.getGradient(g.kernelName), g, `${g.kernelName} was overridden`);
});
