/**
 * The measurements behind two choices in src/model: the layout of Linear weights (load.ts) and the way
 * attention's two batched products are written (attention.ts). Each candidate runs on the same random
 * inputs at BiomedCLIP's full-size shapes, on each backend asked for, and prints ms per call and GFLOP/s.
 *
 *   npx tsc -p . && node dist/scripts/bench_kernels.js [--backends wasm,cpu] [--seconds 1]
 *
 * Printed, never asserted: absolute figures depend on the machine, the ratios are what chose the code.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backend.js';

/** Mean ms of `fn` (one warm-up call, then repeats for about `seconds`); results are read back each time. */
async function msPerCall(fn: () => tf.Tensor, seconds: number): Promise<number> {
  const once = async () => {
    const out = fn();
    await out.data();
    out.dispose();
  };
  await once();
  let n = 0;
  const start = performance.now();
  while (n < 2 || performance.now() - start < seconds * 1000) {
    await once();
    n++;
  }
  return (performance.now() - start) / n;
}

interface Candidate {
  name: string;
  flops: number;
  run: () => tf.Tensor;
}

/** y = x·W for x [N, 768] and W [768, 3072], with W stored [in, out] or PyTorch's [out, in]. */
function linearCandidates(n: number): Candidate[] {
  const x = tf.randomNormal([n, 768]);
  const wInOut = tf.randomNormal([768, 3072]);
  const wOutIn = tf.randomNormal([3072, 768]);
  const flops = 2 * n * 768 * 3072;
  return [
    { name: `linear [${n},768]x[768,3072], W [in,out]: matMul(x, W)`, flops, run: () => tf.matMul(x, wInOut) },
    { name: `linear [${n},768]x[768,3072], W [out,in]: matMul(x, W, false, true)`, flops, run: () => tf.matMul(x, wOutIn, false, true) },
  ];
}

/**
 * probs·v after softmax(q·kᵀ) for q, k, v [B, H, S, D], written three ways: batched products with the
 * transpose flag, batched with kᵀ materialised first, and one 2-D product per (batch, head).
 */
function attentionCandidates(b: number, h: number, s: number, d: number): Candidate[] {
  const [q, k, v] = [0, 1, 2].map(() => tf.randomNormal([b, h, s, d]) as tf.Tensor4D);
  const flops = 2 * 2 * b * h * s * s * d;
  const perHead = () =>
    tf.tidy(() => {
      const qs = tf.unstack(tf.reshape(q, [b * h, s, d])); // B·H × [S, D]
      const kts = tf.unstack(tf.transpose(tf.reshape(k, [b * h, s, d]), [0, 2, 1])); // B·H × [D, S]
      const vs = tf.unstack(tf.reshape(v, [b * h, s, d]));
      const probs = tf.softmax(tf.stack(qs.map((qi, i) => tf.matMul(qi, kts[i])))); // [B·H, S, S]
      return tf.stack(tf.unstack(probs).map((p, i) => tf.matMul(p, vs[i]))); // [B·H, S, D]
    });
  const shape = `[${b},${h},${s},${d}]`;
  return [
    { name: `attention ${shape}: batched, matMul(q, k, false, true)`, flops, run: () => tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), v)) },
    { name: `attention ${shape}: batched, kᵀ materialised`, flops, run: () => tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(q, tf.transpose(k, [0, 1, 3, 2]))), v)) },
    { name: `attention ${shape}: one 2-D product per head`, flops, run: perHead },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backends: { type: 'string', default: 'wasm,cpu' }, seconds: { type: 'string', default: '1' } } });
  const seconds = Number(values.seconds);
  for (const backend of values.backends.split(',')) {
    await useBackend(backend);
    console.log(`\n${backend}:`);
    // Image tower: 197 tokens (1 image), 1576 (8 images); text: 32 labels of 10 tokens, 8 texts of 256.
    const candidates = [...linearCandidates(197), ...linearCandidates(1576), ...attentionCandidates(1, 12, 197, 64), ...attentionCandidates(32, 12, 10, 64), ...attentionCandidates(8, 12, 256, 64)];
    for (const c of candidates) {
      const ms = await msPerCall(c.run, seconds);
      console.log(`  ${c.name.padEnd(72)} ${ms.toFixed(2).padStart(9)} ms  ${(c.flops / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s`);
    }
    tf.disposeVariables();
  }
}

await main();
