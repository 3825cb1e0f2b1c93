/**
 * The measurements behind two choices in src/model: the layout of Linear weights (load.ts) and the way
 * attention's two batched products are written (attention.ts). Each candidate runs on the same random
 * inputs at BiomedCLIP's full-size shapes, on each backend asked for, and prints the fastest call's ms
 * and GFLOP/s.
 *
 *   npx tsc -p . && node dist/scripts/bench_kernels.js [--backends wasm,cpu] [--seconds 1] [--only attention]
 *
 * Printed, never asserted: absolute figures depend on the machine, the ratios are what chose the code.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';

/**
 * The fastest of at least 3 timed calls of `fn` (after one warm-up call), over about `seconds`: on a machine
 * shared with other work the least disturbed call is the best estimate of the kernel's own speed.
 */
async function msPerCall(fn: () => tf.Tensor, seconds: number): Promise<number> {
  const once = async () => {
    const t0 = performance.now();
    const out = fn();
    await out.data();
    out.dispose();
    return performance.now() - t0;
  };
  await once();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || performance.now() - start < seconds * 1000) times.push(await once());
  return Math.min(...times);
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

/** q·kᵀ for q, k [B·H, S, D] as one 2-D product per head (kᵀ laid out first): XNNPACK on wasm. */
function scoresPerHead(q: tf.Tensor3D, k: tf.Tensor3D): tf.Tensor3D {
  const kts = tf.unstack(tf.transpose(k, [0, 2, 1])); // B·H × [D, S]
  return tf.stack(tf.unstack(q).map((qi, i) => tf.matMul(qi, kts[i]))) as tf.Tensor3D;
}

/** probs·v for probs [B·H, S, S], v [B·H, S, D] as one 2-D product per head. */
function contextPerHead(probs: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  const vs = tf.unstack(v);
  return tf.stack(tf.unstack(probs).map((p, i) => tf.matMul(p, vs[i]))) as tf.Tensor3D;
}

/**
 * Both products per head, one image (batch row) at a time in its own tidy: never more than H slices alive,
 * where slicing all B·H heads at once made the wasm backend slow down sharply past a few dozen pieces.
 */
function perImagePerHead(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D, b: number): tf.Tensor {
  const [bh, s, d] = q.shape;
  const h = bh / b;
  const rows = Array.from({ length: b }, (_, i) =>
    tf.tidy(() => {
      const pick = (x: tf.Tensor3D) => tf.slice(x, [i * h, 0, 0], [h, s, d]) as tf.Tensor3D; // [H, S, D]
      return contextPerHead(tf.softmax(scoresPerHead(pick(q), pick(k))), pick(v));
    }),
  );
  const out = tf.concat(rows, 0);
  tf.dispose(rows);
  return out;
}

/**
 * softmax(q·kᵀ)·v for q, k, v [B, H, S, D] (as [B·H, S, D]), each product written as one batched
 * matMul, as one 2-D product per head, or with the second operand laid out transposed first.
 */
function attentionCandidates(b: number, h: number, s: number, d: number): Candidate[] {
  const [q, k, v] = [0, 1, 2].map(() => tf.randomNormal([b * h, s, d]) as tf.Tensor3D);
  const flops = 2 * 2 * b * h * s * s * d;
  const shape = `[${b},${h},${s},${d}]`;
  const variants: Array<[string, () => tf.Tensor]> = [
    ['batched, batched', () => tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), v)],
    ['per head, batched', () => tf.matMul(tf.softmax(scoresPerHead(q, k)), v)],
    ['per head, per head', () => contextPerHead(tf.softmax(scoresPerHead(q, k)), v)],
    ['batched, batched with vᵀ laid out', () => tf.matMul(tf.softmax(tf.matMul(q, k, false, true)), tf.transpose(v, [0, 2, 1]), false, true)],
    ['per head, per head, one image at a time', () => perImagePerHead(q, k, v, b)],
  ];
  return variants.map(([how, run]) => ({ name: `attention ${shape} q·kᵀ, probs·v: ${how}`, flops, run: () => tf.tidy(run) }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backends: { type: 'string', default: 'wasm,cpu' }, seconds: { type: 'string', default: '1' }, only: { type: 'string' } },
  });
  const seconds = Number(values.seconds);
  for (const backend of values.backends.split(',')) {
    await useBackend(backend);
    console.log(`\n${backend}:`);
    // Image tower: 197 tokens an image, batches of 1 and 8; text: 32 labels of 10 tokens, 8 texts of 256.
    const candidates = [
      ...linearCandidates(197),
      ...linearCandidates(1576),
      ...[1, 8].flatMap((b) => attentionCandidates(b, 12, 197, 64)),
      ...attentionCandidates(32, 12, 10, 64),
      ...attentionCandidates(8, 12, 256, 64),
    ];
    for (const c of candidates.filter((x) => values.only === undefined || x.name.startsWith(values.only))) {
      const ms = await msPerCall(c.run, seconds);
      console.log(`  ${c.name.padEnd(72)} ${ms.toFixed(2).padStart(9)} ms  ${(c.flops / ms / 1e6).toFixed(2).padStart(7)} GFLOP/s`);
    }
    tf.disposeVariables();
  }
}

await main();
