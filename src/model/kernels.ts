/**
 * Products whose fastest form depends on the backend. The model names no backend: it asks this registry,
 * and src/backends/ sets a strategy for the backends that need one (today the per-head products on wasm,
 * src/backends/wasm-attention.ts). So a backend's quirks live with the backend's setup, and a backend
 * with no entry gets the plain form, which every backend computes correctly.
 */
import * as tf from '@tensorflow/tfjs-core';

/** a·b, or a·bᵀ, for every (batch, head): [B, H, M, K] · [B, H, K, N] (or [B, H, N, K]) -> [B, H, M, N]. */
export type HeadwiseMatMul = (a: tf.Tensor4D, b: tf.Tensor4D, transposeB: boolean) => tf.Tensor4D;

/** The plain form: one batched matMul, right for any backend with a batched kernel. */
export const batchedMatMul: HeadwiseMatMul = (a, b, transposeB) => tf.matMul(a, b, false, transposeB);

const headwise = new Map<string, HeadwiseMatMul>();

/** Runs attention's products with `strategy` whenever `backend` is TF.js's active backend. */
export function setHeadwiseMatMul(backend: string, strategy: HeadwiseMatMul): void {
  headwise.set(backend, strategy);
}

/** The form attention's products take on `backend`. */
export function headwiseMatMulFor(backend: string): HeadwiseMatMul {
  return headwise.get(backend) ?? batchedMatMul;
}

/** Attention's per-(batch, head) product, in the form registered for the active backend. */
export function headwiseMatMul(a: tf.Tensor4D, b: tf.Tensor4D, transposeB: boolean): tf.Tensor4D {
  return headwiseMatMulFor(tf.getBackend())(a, b, transposeB);
}
