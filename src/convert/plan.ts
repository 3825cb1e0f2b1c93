/**
 * Matching a checkpoint's tensors to the model's expected keys, before anything is written: every
 * required key present once with its config's shape, every extra key either a known-unused one (dropped
 * with a note) or an error. Checking all of it up front is what lets `convert` promise "no partial output".
 */
import { UserError } from '../errors.js';
import type { ClipConfig } from '../model/config.js';
import { expectedTensorShapes, isKnownUnused, shapeMatches } from '../model/keys.js';
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
  /** In the expected key order of src/model/keys.ts. */
  tensors: PlannedTensor[];
  dropped: string[];
  notes: string[];
}

const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);
const DDP_PREFIX = 'module.';

/** Lists at most five names, then how many more, to keep the error on one readable line. */
function few(names: string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

export function planConversion(file: string, tensors: SourceTensor[], cfg: ClipConfig, configName: string): ConversionPlan {
  const expected = expectedTensorShapes(cfg);
  const notes: string[] = [];
  // DataParallel/DDP training wraps the model, so every key gains "module."; strip it wherever present.
  const stripped = tensors.filter((t) => t.name.startsWith(DDP_PREFIX)).length;
  if (stripped > 0) notes.push(`stripped the "${DDP_PREFIX}" prefix from ${stripped} keys (a DataParallel checkpoint)`);
  const byTarget = new Map<string, SourceTensor>();
  const dropped: string[] = [];
  const unexpected: string[] = [];
  for (const t of tensors) {
    const target = t.name.startsWith(DDP_PREFIX) ? t.name.slice(DDP_PREFIX.length) : t.name;
    if (byTarget.has(target)) throw new UserError(`${file}: tensor "${target}" appears twice (with and without "module."); re-save the checkpoint with one copy`);
    if (expected.has(target)) byTarget.set(target, t);
    else if (isKnownUnused(target)) dropped.push(target);
    else unexpected.push(target);
  }
  if (dropped.length > 0) notes.push(`dropped ${dropped.length} tensors the forward pass never uses: ${few(dropped)}`);
  if (unexpected.length > 0) {
    throw new UserError(`${file}: ${unexpected.length} tensors that ${configName} does not expect: ${few(unexpected)}; pass the checkpoint's own --config open_clip_config.json`);
  }
  const missing = [...expected.keys()].filter((k) => !byTarget.has(k));
  if (missing.length > 0) {
    throw new UserError(`${file}: missing ${missing.length} tensors that ${configName} requires: ${few(missing)}; check that this is a BiomedCLIP checkpoint and --config matches it`);
  }
  return { tensors: checkEach(file, expected, byTarget, configName), dropped, notes };
}

function checkEach(file: string, expected: Map<string, number[]>, byTarget: Map<string, SourceTensor>, configName: string): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  const wrong: string[] = [];
  for (const [target, shape] of expected) {
    const t = byTarget.get(target) as SourceTensor;
    if (!FLOAT_DTYPES.has(t.dtype)) {
      throw new UserError(`${file}: tensor "${t.name}" is ${t.dtype}; model weights must be floating point`);
    }
    if (!shapeMatches(target, shape, t.shape)) wrong.push(`${target} [${t.shape}] (expected [${shape}])`);
    out.push({ source: t.name, target, shape });
  }
  if (wrong.length > 0) {
    throw new UserError(`${file}: ${wrong.length} tensors have the wrong shape for ${configName}: ${few(wrong)}; pass the checkpoint's own --config`);
  }
  return out;
}
