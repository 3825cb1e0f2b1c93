/**
 * Loading a model directory strictly: `DIR/model.safetensors` (open_clip key names, PyTorch layouts),
 * `DIR/open_clip_config.json` (optional: BiomedCLIP's own config otherwise). Every tensor is checked
 * against the key table before any is read: missing, unexpected, mis-shaped or non-float tensors are
 * errors naming the key. Only the known-unused tensors (position_ids, BERT pooler) are reported and skipped.
 * A tensor holding NaN or Inf is refused as it is read, naming the tensor and how many values are bad.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { describeNonFinite, findNonFinite } from '../util/finite.js';
import { readJsonFile } from '../util/json-file.js';
import { SafetensorsFile, type TensorInfo } from '../weights/index.js';
import { BiomedCLIPModel } from './clip.js';
import { DEFAULT_CONFIG, parseOpenClipConfig, type ClipConfig } from './config.js';
import { expectedTensorShapes, matchTensors } from './spec.js';
import { WeightStore } from './weights.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'open_clip_config.json';
/** How a config that is not JSON is fixed. */
const CONFIG_FIX = "pass the checkpoint's open_clip_config.json (or rebuild the model directory with `biomedclip convert`)";

export interface LoadOptions {
  /** Receives informational notes (ignored tensors, default config used). */
  onNote?: (message: string) => void;
  /** Load weights holding NaN/Inf instead of refusing them (to trace where a broken checkpoint goes wrong). */
  allowNonfinite?: boolean;
}

/** Reads the directory's config, or BiomedCLIP's default when the file is absent. */
export function loadModelConfig(dir: string, onNote?: (m: string) => void): ClipConfig {
  const file = path.join(dir, CONFIG_FILE);
  if (existsSync(file)) return parseOpenClipConfig(readJsonFile(file, CONFIG_FIX), file);
  onNote?.(`${dir} has no ${CONFIG_FILE}: using BiomedCLIP's default configuration`);
  return DEFAULT_CONFIG;
}

/** Checks the file's tensors against the model's key table; returns the known-unused keys to skip. */
export function validateTensors(file: string, tensors: ReadonlyMap<string, TensorInfo>, cfg: ClipConfig): string[] {
  const entries = [...tensors].map(([name, info]) => ({ name, dtype: info.dtype, shape: info.shape }));
  const fix = 'rebuild the model directory with `biomedclip convert CHECKPOINT --out DIR` (or check open_clip_config.json)';
  return matchTensors(file, entries, cfg, { configName: 'its open_clip_config.json', fix }).ignored;
}

/** Loads `dir` into a ready model on the active TF.js backend. Call `model.dispose()` when done. */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<BiomedCLIPModel> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UserError(`model directory '${dir}' does not exist; run \`biomedclip download\` or pass --model DIR`);
  }
  const weightsPath = path.join(dir, WEIGHTS_FILE);
  if (!existsSync(weightsPath)) {
    throw new UserError(`${dir} has no ${WEIGHTS_FILE}; create it with \`biomedclip convert CHECKPOINT --out ${dir}\``);
  }
  const cfg = loadModelConfig(dir, opts.onNote);
  const file = await SafetensorsFile.open(weightsPath);
  const tensors = new Map<string, tf.Tensor>();
  try {
    const skipped = validateTensors(weightsPath, file.tensors, cfg);
    if (skipped.length > 0) opts.onNote?.(`ignored ${skipped.length} tensor(s) the forward pass never uses: ${skipped.join(', ')}`);
    for (const [key, shape] of expectedTensorShapes(cfg)) {
      // One tensor at a time: its float32 copy becomes the backend's tensor and is then dropped.
      const values = await file.readFloat32(key);
      const bad = opts.allowNonfinite ? undefined : findNonFinite(values);
      if (bad) throw new UserError(`${weightsPath}: tensor '${key}' has ${describeNonFinite(bad)}; the weights are damaged: download or convert them again`);
      tensors.set(key, tf.tensor(values, shape, 'float32'));
    }
    const store = new WeightStore(tensors);
    const model = new BiomedCLIPModel(cfg, store);
    const untaken = store.untaken();
    if (untaken.length > 0) throw new Error(`internal: loaded weights no module took: ${untaken.join(', ')}`);
    return model;
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  } finally {
    await file.close();
  }
}
