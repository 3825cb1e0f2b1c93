/**
 * Loading a model's weights strictly, from an open safetensors file (a file on disk, or bytes the page
 * fetched). Weights are stored as F32, or as F16 (`convert --dtype f16`, half the bytes) and widened exactly
 * to float32 as each tensor is read, into the same destination an F32 tensor would fill: the model computes
 * in float32 either way. Every tensor is checked against the key table before any is read: missing, unexpected,
 * mis-shaped or non-float tensors are errors naming the key. Only the known-unused tensors (position_ids,
 * BERT pooler) are reported and skipped. A tensor holding NaN or Inf is refused as it is read, naming the
 * tensor and how many values are bad.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { describeNonFinite, findNonFinite } from '../util/finite.js';
import type { TensorInfo } from '../weights/header.js';
import type { SafetensorsFile } from '../weights/reader.js';
import { BiomedCLIPModel } from './clip.js';
import type { ClipConfig } from './config.js';
import { matrixShape, type MatrixLayout } from './module.js';
import { expectedTensorShapes, matchTensors, modelSpec } from './spec.js';
import { WeightStore } from './weights.js';
import { backendPolicy } from './policy.js';

export interface LoadOptions {
  /** Receives informational notes (ignored tensors, default config used). */
  onNote?: (message: string) => void;
  /** Load weights holding NaN/Inf instead of refusing them (to trace where a broken checkpoint goes wrong). */
  allowNonfinite?: boolean;
}

/** Checks the file's tensors against the model's key table; returns the known-unused keys to skip. */
export function validateTensors(file: string, tensors: ReadonlyMap<string, TensorInfo>, cfg: ClipConfig): string[] {
  const entries = [...tensors].map(([name, info]) => ({ name, dtype: info.dtype, shape: info.shape }));
  const fix = 'rebuild the model directory with `biomedclip convert CHECKPOINT --out DIR` (or check open_clip_config.json)';
  return matchTensors(file, entries, cfg, { configName: 'its open_clip_config.json', fix }).ignored;
}

/** Returns a tensor's values, or throws when they hold NaN/Inf (unless the caller allowed them). */
type Check = (key: string, values: Float32Array) => Float32Array;

/**
 * The one load-time layout step (files keep PyTorch's layouts): a weight matrix, declared [out, ...in], is
 * handed to the backend as the 2-D [out, in] (a free reshape) or, transposed on the host, as [in, out]. One
 * tensor at a time, never a second copy of the model: on wasm each tensor is read (and transposed) straight
 * into the backend's heap (the backend policy's `filledTensor`), elsewhere into one array that becomes the tensor.
 */
async function loadTensor(
  file: SafetensorsFile,
  key: string,
  shape: number[],
  matrix: boolean,
  layout: MatrixLayout,
  check: Check,
  scratch?: Float32Array,
): Promise<tf.Tensor> {
  const transpose = matrix && layout === 'in-out';
  const [rows, cols] = matrixShape(shape, 'out-in');
  const target = matrix ? matrixShape(shape, layout) : shape;
  const fill = async (dest: Float32Array) => {
    if (transpose) return transpose2d(check(key, await file.readFloat32(key, scratch)), rows, cols, dest);
    const data = check(key, await file.readFloat32(key, dest)); // F32 lands in `dest` itself, F16/BF16 are widened into it
    if (data.buffer !== dest.buffer) dest.set(data);
  };
  const inPlace = await backendPolicy().filledTensor(target, fill);
  if (inPlace !== null) return inPlace;
  const data = transpose ? new Float32Array(rows * cols) : check(key, await file.readFloat32(key));
  if (transpose) await fill(data);
  return tf.tensor(data, target, 'float32');
}

/**
 * [rows, cols] -> [cols, rows] into `out`, in 32×32 tiles: the writes run along the output and a tile's reads
 * stay in cache (~4x faster than the plain double loop at 768×3072).
 */
export function transpose2d(src: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const tile = 32;
  for (let r0 = 0; r0 < rows; r0 += tile) {
    const rEnd = Math.min(r0 + tile, rows);
    for (let c0 = 0; c0 < cols; c0 += tile) {
      for (let c = c0; c < Math.min(c0 + tile, cols); c++) {
        for (let r = r0, o = c * rows + r0, i = r0 * cols + c; r < rEnd; r++, o++, i += cols) out[o] = src[i];
      }
    }
  }
}

/** Elements of the model's largest weight matrix. */
function largestMatrix(cfg: ClipConfig): number {
  const { params, matrices } = modelSpec(cfg);
  return Math.max(...[...matrices].map((k) => params.get(k)!.reduce((a, b) => a * b, 1)));
}

/**
 * Builds the model from `file`'s tensors on the active TF.js backend (the caller closes the file). Call
 * `model.dispose()` when done.
 */
export async function loadWeights(file: SafetensorsFile, cfg: ClipConfig, opts: LoadOptions = {}): Promise<BiomedCLIPModel> {
  const tensors = new Map<string, tf.Tensor>();
  const layout = backendPolicy().matrixLayout; // the one layout step: what this backend multiplies fastest
  const { matrices } = modelSpec(cfg);
  // A matrix to transpose is read into this reused buffer first, not into a fresh (zeroed) array.
  const scratch = layout === 'in-out' ? new Float32Array(largestMatrix(cfg)) : undefined;
  const check: Check = (key, values) => {
    const bad = opts.allowNonfinite ? undefined : findNonFinite(values);
    if (bad) throw new UserError(`${file.path}: tensor '${key}' has ${describeNonFinite(bad)}; the weights are damaged: download or convert them again`);
    return values;
  };
  try {
    const skipped = validateTensors(file.path, file.tensors, cfg);
    if (skipped.length > 0) opts.onNote?.(`ignored ${skipped.length} tensor(s) the forward pass never uses: ${skipped.join(', ')}`);
    for (const [key, shape] of expectedTensorShapes(cfg)) {
      tensors.set(key, await loadTensor(file, key, shape, matrices.has(key), layout, check, scratch));
    }
    const store = new WeightStore(tensors, layout);
    const model = new BiomedCLIPModel(cfg, store);
    const untaken = store.untaken();
    if (untaken.length > 0) throw new Error(`internal: loaded weights no module took: ${untaken.join(', ')}`);
    return model;
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
}
