/**
 * Each backend's policy (src/model/policy.ts), set when this module loads (src/backends/select.ts imports it), with
 * the measurement behind each choice (scripts/bench_kernels.ts, docs/performance.md).
 *
 * Weight layout: tfjs-backend-wasm runs x·W in XNNPACK but x·Wᵀ in a scalar loop (~10x slower); the cpu
 * backend's loop is faster on x·Wᵀ; webgpu's shader is faster on x·W; tensorflow (not measurable here)
 * multiplies either natively, so the file's layout stays.
 *
 * Attention on wasm: tfjs-backend-wasm sends batched products to a scalar loop (~1.8 GFLOP/s) and only plain 2-D ones
 * to XNNPACK (measured with scripts/bench_kernels.ts, docs/performance.md), so for sequences of 32 tokens
 * or more this runs one 2-D product per head, one image or text at a time (slicing all B·H heads at once
 * made it slow down sharply): ~4.5x faster for 197 image tokens. Below 32 tokens the per-product overhead
 * outweighs the gain. Gradients (src/inspect) flow through both forms: src/inspect/gradients.ts has rules
 * for the slicing and stacking kernels too.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchedMatMul, setBackendPolicy } from '../model/policy.js';
import { fillWasmTensor } from './wasm-heap.js';

/** Shortest query length for which the per-head form is faster on wasm. */
const PER_HEAD_FROM = 32;

/** [B, H, M, K] · [B, H, K, N] (or bᵀ) -> [B, H, M, N] as B·H plain 2-D products. */
export function perHeadMatMul(a: tf.Tensor4D, b: tf.Tensor4D, transposeB: boolean): tf.Tensor4D {
  const [batch, , m] = a.shape;
  if (m < PER_HEAD_FROM) return batchedMatMul(a, b, transposeB);
  const rows = Array.from({ length: batch }, (_, i) =>
    tf.tidy(() => {
      const row = (x: tf.Tensor4D) => tf.squeeze(tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), [0]) as tf.Tensor3D; // [H, ., .]
      const rights = tf.unstack(transposeB ? tf.transpose(row(b), [0, 2, 1]) : row(b)); // H × [K, N]
      return tf.stack(tf.unstack(row(a)).map((left, h) => tf.matMul(left, rights[h]))); // [H, M, N]
    }),
  );
  const out = tf.stack(rows) as tf.Tensor4D; // [B, H, M, N]
  tf.dispose(rows);
  return out;
}

// wasm: XNNPACK takes plain 2-D x·W only, so weights are laid out [in, out], attention runs per head,
// gradient rules avoid transpose flags, and weights load straight into the wasm heap.
setBackendPolicy('wasm', { matrixLayout: 'in-out', headwiseMatMul: perHeadMatMul, plainProductsOnly: true, filledTensor: fillWasmTensor });
setBackendPolicy('webgpu', { matrixLayout: 'in-out' });
setBackendPolicy('cpu', { matrixLayout: 'out-in' });
setBackendPolicy('tensorflow', { matrixLayout: 'out-in' });
