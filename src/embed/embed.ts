/**
 * Host arrays in, host arrays out: one forward pass of a tower over a batch, with the features and their
 * L2-normalized form read back asynchronously (a synchronous read is impossible on webgpu in Node). The
 * same code runs in the main thread and in every pool worker (src/parallel/), so both give the same numbers.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { l2Normalize } from '../model/head.js';
import type { HostTensor } from '../host-tensor.js';
import { UserError } from '../errors.js';
import { describeNonFinite, findNonFinite } from '../util/finite.js';

export interface Embedding {
  /** The unnormalized `encode_image` / `encode_text` output. */
  features: Float32Array;
  /** `features` L2-normalized: dot products of embeddings are cosine similarities. */
  embedding: Float32Array;
}

/** Token ids of a batch: [N, T] int32, [PAD] = 0 after each text. */
export interface HostIds {
  shape: number[];
  data: Int32Array;
}

/** A batch's embeddings as two flat [N, E] arrays: what a worker sends back (two transferable buffers). */
export interface FlatEmbeddings {
  rows: number;
  features: Float32Array;
  embedding: Float32Array;
}

async function run(forward: () => tf.Tensor2D): Promise<FlatEmbeddings> {
  const [f, e] = tf.tidy(() => {
    const features = forward();
    return [features, l2Normalize(features)];
  });
  try {
    const [features, embedding] = (await Promise.all([f.data(), e.data()])) as [Float32Array, Float32Array];
    return { rows: f.shape[0], features, embedding };
  } finally {
    f.dispose();
    e.dispose();
  }
}

/** Image features of preprocessed pixels [B, 3, S, S]. */
export function embedPixelBatch(model: BiomedCLIPModel, px: HostTensor): Promise<FlatEmbeddings> {
  return run(() => model.encodeImage(tf.tensor4d(px.data, px.shape as [number, number, number, number])));
}

/** Text features of token ids [N, T]. */
export function embedIdBatch(model: BiomedCLIPModel, ids: HostIds): Promise<FlatEmbeddings> {
  return run(() => model.encodeText(tf.tensor2d(ids.data, ids.shape as [number, number], 'int32')));
}

/**
 * One { features, embedding } per row, each checked: an embedding with NaN or Inf is an error naming its
 * input (`names[i]`), so none is ever printed, scored or stored.
 */
export function checkedRows(flat: FlatEmbeddings, names: string[]): Embedding[] {
  const dim = flat.features.length / Math.max(flat.rows, 1);
  return Array.from({ length: flat.rows }, (_, i) => {
    const row = { features: flat.features.slice(i * dim, (i + 1) * dim), embedding: flat.embedding.slice(i * dim, (i + 1) * dim) };
    const bad = findNonFinite(row.embedding);
    if (bad)
      throw new UserError(
        `${names[i]}: the forward pass gave ${describeNonFinite(bad)} in the embedding; the model overflows float32 on this input: check its weights (download or convert them again)`,
      );
    return row;
  });
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The mean of normalized vectors, renormalized: a label's embedding over its templates (open_clip's ensemble). */
export function meanNormalized(vectors: Float32Array[]): Float32Array {
  const out = new Float32Array(vectors[0].length);
  for (const v of vectors) for (let i = 0; i < v.length; i++) out[i] += v[i] / vectors.length;
  const norm = Math.max(Math.sqrt(dot(out, out)), 1e-12);
  return out.map((x) => x / norm);
}
