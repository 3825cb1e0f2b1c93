/**
 * Loading a model directory strictly: `DIR/model.safetensors` (open_clip key names, PyTorch layouts),
 * `DIR/open_clip_config.json` (optional: BiomedCLIP's own config otherwise). The weights themselves are
 * checked and loaded by load-weights.ts, which the page (no file system) calls with fetched bytes.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { readJsonFile } from '../util/json-file.js';
import { SafetensorsFile } from '../weights/index.js';
import type { BiomedCLIPModel } from './clip.js';
import { DEFAULT_CONFIG, parseOpenClipConfig, type ClipConfig } from './config.js';
import { loadWeights, type LoadOptions } from './load-weights.js';
import { CONFIG_FILE, WEIGHTS_FILE } from '../model-files.js';

export { transpose2d, validateTensors, type LoadOptions } from './load-weights.js';

/** How a config that is not JSON is fixed. */
const CONFIG_FIX = "pass the checkpoint's open_clip_config.json (or rebuild the model directory with `biomedclip convert`)";

/** Reads the directory's config, or BiomedCLIP's default when the file is absent. */
export function loadModelConfig(dir: string, onNote?: (m: string) => void): ClipConfig {
  const file = path.join(dir, CONFIG_FILE);
  if (existsSync(file)) return parseOpenClipConfig(readJsonFile(file, CONFIG_FIX), file);
  onNote?.(`${dir} has no ${CONFIG_FILE}: using BiomedCLIP's default configuration`);
  return DEFAULT_CONFIG;
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
  try {
    return await loadWeights(file, cfg, opts);
  } finally {
    await file.close();
  }
}

/** A config file read on its own (tests, `summary --config`): the same checks as a model directory's. */
export function loadConfigFile(file: string): ClipConfig {
  return parseOpenClipConfig(readJsonFile(file, CONFIG_FIX), file);
}
