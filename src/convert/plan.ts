/**
 * Matching a checkpoint's tensors to the model's expected keys, before anything is written: every
 * required key present once with its config's shape, every extra key either a known-unused one (dropped
 * with a note) or an error. Checking all of it up front is what lets `convert` promise "no partial output".
 */
import { UserError } from '../errors.js';
import type { ClipConfig } from '../model/config.js';
import { expectedTensorShapes, few, matchTensors } from '../model/spec.js';
import type { SourceTensor } from './source.js';

export interface PlannedTensor {
  /** Name in the checkpoint. */
  source: string;
  /** open_clip name written to model.safetensors. */
  target: string;
  /** The config's shape (a [1] logit_scale is written as the canonical 0-d shape). */
  shape: number[];
}

export interface ConversionPlan {
  /** In the model's checkpoint key order (src/model/spec.ts). */
  tensors: PlannedTensor[];
  dropped: string[];
  notes: string[];
}

const DDP_PREFIX = 'module.';
/**
 * The most values one tensor may hold: 2^29 float32s = 2 GiB, 23 times BiomedCLIP's largest (the 30522 x 768
 * word embedding). Converting and loading hold one tensor as a typed array; an absurd config (vocab_size 1e9)
 * with a checkpoint that matches it through a zero stride would otherwise ask for a 128 GB array.
 */
export const MAX_TENSOR_VALUES = 2 ** 29;

export function planConversion(file: string, tensors: SourceTensor[], cfg: ClipConfig, configName: string): ConversionPlan {
  const notes: string[] = [];
  // DataParallel/DDP training wraps the model, so every key gains "module."; strip it wherever present.
  const stripped = tensors.filter((t) => t.name.startsWith(DDP_PREFIX)).length;
  if (stripped > 0) notes.push(`stripped the "${DDP_PREFIX}" prefix from ${stripped} keys (a DataParallel checkpoint)`);
  const { matched, ignored } = matchTensors(file, tensors, cfg, {
    configName,
    fix: 'check that this is a BiomedCLIP checkpoint and pass its own --config open_clip_config.json',
    keyOf: (name) => (name.startsWith(DDP_PREFIX) ? name.slice(DDP_PREFIX.length) : name),
  });
  if (ignored.length > 0) notes.push(`dropped ${ignored.length} tensors the forward pass never uses: ${few(ignored)}`);
  const shapes = expectedTensorShapes(cfg);
  for (const [target, shape] of shapes) {
    const values = shape.reduce((a, b) => a * b, 1);
    if (values > MAX_TENSOR_VALUES) {
      throw new UserError(
        `${configName}: tensor "${target}" would hold ${values.toLocaleString('en-US')} values [${shape}], beyond the limit of ${MAX_TENSOR_VALUES.toLocaleString('en-US')} (2 GiB as float32) per tensor; check the config's sizes (vocab_size, hidden_size, width)`,
      );
    }
  }
  return { tensors: [...matched].map(([target, t]) => ({ source: t.name, target, shape: shapes.get(target)! })), dropped: ignored, notes };
}
