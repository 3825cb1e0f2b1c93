/**
 * Which model directory a command uses: `--model DIR` when given, else the model `biomedclip download`
 * converted for the default revision.
 *
 * Converted models live in `$HF_HOME/biomedclip-ts/<commit>/` (model.safetensors, open_clip_config.json,
 * vocab.txt), beside the hub cache and not inside it:
 * - beside: `$HF_HOME` is where users already put big model files (often a large disk), and deleting
 *   `~/.cache/huggingface` clears both the download and the conversion made from it;
 * - not inside `hub/`: that folder's layout belongs to huggingface_hub, whose cache scanner
 *   (`huggingface-cli scan-cache`, `delete-cache`) reports unknown folders there as corrupt repos;
 * - keyed by the full commit hash of the BiomedCLIP repo: a directory name then says exactly which weights
 *   it holds, and a non-default `--revision` can never shadow the default model.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { recoverDirectory } from '../util/atomic-dir.js';
import { BIOMEDCLIP_REVISION } from './pins.js';
import { hfHome, type Env } from './settings.js';
import { WEIGHTS_FILE } from '../model-files.js'; // its presence marks a finished conversion (swapped in whole: util/atomic-dir.ts)
import { SafetensorsFile } from '../weights/reader.js';

/** Sub-folder of `$HF_HOME` that holds converted models. */
export const MODELS_FOLDER = 'biomedclip-ts';

/** `$HF_HOME/biomedclip-ts/<commit>`: where `biomedclip download` converts a given BiomedCLIP commit. */
export function convertedModelDir(commit: string, env: Env = process.env): string {
  return path.join(hfHome(env), MODELS_FOLDER, commit);
}

/** True when `dir` holds a finished conversion. */
export function hasConvertedModel(dir: string): boolean {
  return isFile(path.join(dir, WEIGHTS_FILE));
}

/**
 * How `dir`'s weights are stored, from the weights file's header (a few KB, not the tensors): 'f32' or 'f16'
 * when every tensor is that type, undefined when they are mixed or the file cannot be read as safetensors.
 */
export async function convertedDtype(dir: string): Promise<'f32' | 'f16' | undefined> {
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(path.join(dir, WEIGHTS_FILE));
  } catch {
    return undefined;
  }
  const dtypes = new Set([...file.tensors.values()].map((t) => t.dtype));
  await file.close();
  if (dtypes.size !== 1) return undefined;
  return dtypes.has('F32') ? 'f32' : dtypes.has('F16') ? 'f16' : undefined;
}

/**
 * The model directory for embed/classify/trace.
 * @param modelFlag  the `--model DIR` value, if the user gave one (must exist)
 */
export function resolveModelDir(modelFlag?: string, env: Env = process.env): string {
  if (modelFlag !== undefined && modelFlag !== '') {
    const dir = path.resolve(modelFlag);
    if (!existsSync(dir)) recoverDirectory(dir); // a convert killed mid-swap: put the previous model back
    if (!existsSync(dir)) throw new UserError(`--model ${modelFlag}: no such directory; pass a converted model directory or run \`biomedclip download\``);
    if (!statSync(dir).isDirectory()) {
      throw new UserError(`--model ${modelFlag}: not a directory; pass the folder that holds ${WEIGHTS_FILE} (see \`biomedclip convert --help\`)`);
    }
    return dir;
  }
  const cached = convertedModelDir(BIOMEDCLIP_REVISION, env);
  if (!existsSync(cached)) recoverDirectory(cached);
  if (hasConvertedModel(cached)) return cached;
  throw new UserError('no model found: run `biomedclip download` (or pass --model DIR)');
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
