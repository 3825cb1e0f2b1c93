/**
 * Loading a model directory strictly: `DIR/model.safetensors` (open_clip key names, PyTorch layouts),
 * `DIR/open_clip_config.json` (optional: BiomedCLIP's own config otherwise). Every tensor is checked
 * against the key table before any is read: missing, unexpected, mis-shaped or non-float tensors are
 * errors naming the key. Only the known-unused tensors (position_ids, BERT pooler) are reported and skipped.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import { SafetensorsFile, type TensorInfo } from '../weights/index.js';
import { BiomedCLIPModel } from './clip.js';
import { DEFAULT_CONFIG, loadConfigFile, type ClipConfig } from './config.js';
import { expectedTensorShapes, isKnownUnused, shapeMatches } from './keys.js';
import { WeightStore } from './weights.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'open_clip_config.json';
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

export interface LoadOptions {
  /** Receives informational notes (ignored tensors, default config used). */
  onNote?: (message: string) => void;
}

/** Reads the directory's config, or BiomedCLIP's default when the file is absent. */
export function loadModelConfig(dir: string, onNote?: (m: string) => void): ClipConfig {
  const file = path.join(dir, CONFIG_FILE);
  if (existsSync(file)) return loadConfigFile(file);
  onNote?.(`${dir} has no ${CONFIG_FILE}: using BiomedCLIP's default configuration`);
  return DEFAULT_CONFIG;
}

function listed(keys: string[]): string {
  const shown = keys.slice(0, 3).map((k) => `'${k}'`).join(', ');
  return keys.length > 3 ? `${shown} and ${keys.length - 3} more` : shown;
}

/** Checks the file's tensors against the expected table; returns the keys to skip. */
export function validateTensors(file: string, tensors: ReadonlyMap<string, TensorInfo>, cfg: ClipConfig): string[] {
  const expected = expectedTensorShapes(cfg);
  const fix = 'rebuild the model directory with `biomedclip convert CHECKPOINT --out DIR`';
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  if (missing.length > 0) throw new UserError(`${file}: missing tensor ${listed(missing)}; ${fix}`);
  const skipped: string[] = [];
  const unexpected: string[] = [];
  for (const [key, info] of tensors) {
    const shape = expected.get(key);
    if (shape === undefined) {
      (isKnownUnused(key) ? skipped : unexpected).push(key);
      continue;
    }
    if (!shapeMatches(key, shape, info.shape)) {
      throw new UserError(`${file}: tensor '${key}' has shape [${info.shape}], expected [${shape}] for this config; ${fix} (or check open_clip_config.json)`);
    }
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw new UserError(`${file}: tensor '${key}' is ${info.dtype}, expected F32, F16 or BF16; ${fix}`);
    }
  }
  if (unexpected.length > 0) throw new UserError(`${file}: unexpected tensor ${listed(unexpected)} (not part of this config's model); ${fix}`);
  return skipped;
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
      tensors.set(key, tf.tensor(await file.readFloat32(key), shape, 'float32'));
    }
    return new BiomedCLIPModel(cfg, new WeightStore(tensors));
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  } finally {
    await file.close();
  }
}
