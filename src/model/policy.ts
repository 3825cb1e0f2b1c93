/**
 * What depends on the backend, asked for by name. The model and its tools name no backend: they ask this
 * registry for the active backend's policy, and src/backends/policies.ts sets the policies, each with its
 * measured reason. A backend with no policy gets the plain defaults, which every backend computes correctly
 * (only more slowly where a policy exists).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MatrixLayout } from './module.js';

/** a·b, or a·bᵀ, for every (batch, head): [B, H, M, K] · [B, H, K, N] (or [B, H, N, K]) -> [B, H, M, N]. */
export type HeadwiseMatMul = (a: tf.Tensor4D, b: tf.Tensor4D, transposeB: boolean) => tf.Tensor4D;

/** A float32 tensor of `shape` whose values `fill` writes in place, or null when it cannot (then an array is used). */
export type FilledTensor = (shape: number[], fill: (dest: Float32Array) => Promise<void>) => Promise<tf.Tensor | null>;

export interface BackendPolicy {
  /** How the weight matrices are held in memory: the layout this backend multiplies fastest (load.ts). */
  matrixLayout: MatrixLayout;
  /** Attention's per-(batch, head) products (attention.ts). */
  headwiseMatMul: HeadwiseMatMul;
  /** Only plain 2-D products without transpose flags reach the fast kernel: gradient rules use those. */
  plainProductsOnly: boolean;
  /** Loads a weight straight into the backend's memory, skipping one copy of the model. */
  filledTensor: FilledTensor;
}

/** The plain form: one batched matMul, right for any backend with a batched kernel. */
export const batchedMatMul: HeadwiseMatMul = (a, b, transposeB) => tf.matMul(a, b, false, transposeB);

/** The file's own layout, batched products, tensors built from arrays. */
export const DEFAULT_POLICY: BackendPolicy = {
  matrixLayout: 'out-in',
  headwiseMatMul: batchedMatMul,
  plainProductsOnly: false,
  filledTensor: async () => null,
};

const policies = new Map<string, BackendPolicy>();

/** Sets what differs from the defaults on `backend`. */
export function setBackendPolicy(backend: string, policy: Partial<BackendPolicy>): void {
  policies.set(backend, { ...(policies.get(backend) ?? DEFAULT_POLICY), ...policy });
}

/** The policy of `backend` (default: TF.js's active backend). */
export function backendPolicy(backend: string = tf.getBackend()): BackendPolicy {
  return policies.get(backend) ?? DEFAULT_POLICY;
}

/** Attention's per-(batch, head) product, in the form the active backend runs fastest. */
export function headwiseMatMul(a: tf.Tensor4D, b: tf.Tensor4D, transposeB: boolean): tf.Tensor4D {
  return backendPolicy().headwiseMatMul(a, b, transposeB);
}
