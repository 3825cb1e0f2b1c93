/**
 * The model's description from its config alone: every checkpoint key with its PyTorch shape and every
 * hook point with its shape and kind, recorded by constructing the module tree with a `SpecRecorder`
 * (module.ts). Nothing here lists keys or hooks by hand; the modules are the one source of truth.
 *
 * `matchTensors` is the one check of a file's tensors against that key table, used by strict loading
 * (model.safetensors) and by `convert` (any checkpoint), before any tensor is read.
 */
import { UserError } from '../errors.js';
import { BiomedCLIPModel } from './clip.js';
import type { ClipConfig } from './config.js';
import { SpecRecorder, bindShape, hookPoints, type HookPointSpec, type Module } from './module.js';

export interface ModelSpec {
  /** Checkpoint key → PyTorch shape, in checkpoint order (Linear weights [out, in], the patch conv [out, in, kh, kw]). */
  params: ReadonlyMap<string, number[]>;
  /** Every hook point, in forward order. */
  points: readonly HookPointSpec[];
  /** The weights that multiply activations (declared with `matrix`): what the loader may lay out. */
  matrices: ReadonlySet<string>;
  /**
   * The module tree itself, without weights (never run): for walking the structure (summary) and reading
   * hook names from the modules (`spec.model.visual.trunk.blocks[3].attn.probs.name`) with a config alone.
   */
  model: BiomedCLIPModel;
}

const specs = new WeakMap<ClipConfig, ModelSpec>();

/** The key table and the hook table of `cfg` (recorded once per config object). */
export function modelSpec(cfg: ClipConfig): ModelSpec {
  let spec = specs.get(cfg);
  if (spec === undefined) {
    const recorder = new SpecRecorder();
    const model = new BiomedCLIPModel(cfg, recorder); // constructors only declare: no tensor is made or read
    spec = { params: recorder.params, points: recorder.points, matrices: recorder.matrices, model };
    specs.set(cfg, spec);
  }
  return spec;
}

/** Every tensor the forward pass needs, in checkpoint order, with its PyTorch shape. */
export function expectedTensorShapes(cfg: ClipConfig): ReadonlyMap<string, number[]> {
  return modelSpec(cfg).params;
}

/** Hook name → output shape, for `images` images and `texts` texts of `tokens` tokens (B is per tower). */
export function pointShapes(cfg: ClipConfig, batch: { images: number; texts: number; tokens: number }): Map<string, number[]> {
  const { model } = modelSpec(cfg);
  const bound = (tower: Module, B: number) => hookPoints(tower).map((p): [string, number[]] => [p.name, bindShape(p.shape, { B, T: batch.tokens })]);
  return new Map([...bound(model.visual, batch.images), ...bound(model.text, batch.texts)]);
}

/**
 * Tensors found in real checkpoints that the forward pass never reads: HF's `position_ids` buffer (it
 * equals arange(512)) and the BERT pooler, which open_clip replaces by its own CLS pooling + projection.
 */
export const KNOWN_UNUSED: RegExp[] = [/^text\.transformer\.embeddings\.position_ids$/, /^text\.transformer\.pooler\./];

export function isKnownUnused(key: string): boolean {
  return KNOWN_UNUSED.some((re) => re.test(key));
}

/** True when `actual` is an acceptable shape for `key`: exact, or [1] for the 0-d logit_scale (older open_clip). */
export function shapeMatches(key: string, expected: number[], actual: number[]): boolean {
  if (key === 'logit_scale' && actual.length === 1 && actual[0] === 1) return true;
  return expected.length === actual.length && expected.every((d, i) => d === actual[i]);
}

export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
}

export interface MatchOptions {
  /** The config's name in messages ("open_clip_config.json", "BiomedCLIP's built-in config"). */
  configName: string;
  /** What the user should do about a mismatch, appended to every error. */
  fix: string;
  /** The key a file's tensor name stands for (convert strips DataParallel's "module."); identity by default. */
  keyOf?: (name: string) => string;
}

export interface TensorMatch {
  /** Checkpoint key → the file's tensor, in checkpoint order. */
  matched: Map<string, TensorEntry>;
  /** Known-unused tensors present in the file (reported, never read). */
  ignored: string[];
}

/** Model weights are floating point; F16/BF16 widen exactly to float32, F64 rounds to nearest. */
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

/** Lists at most five names, then how many more, to keep an error on one readable line. */
export function few(names: string[]): string {
  const shown = names.slice(0, 5).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/**
 * Matches a file's tensors with the model's parameters: every key present once, with its shape and a
 * floating-point dtype; an extra tensor is either known-unused (ignored, named) or an error naming it.
 */
export function matchTensors(file: string, entries: Iterable<TensorEntry>, cfg: ClipConfig, opts: MatchOptions): TensorMatch {
  const expected = expectedTensorShapes(cfg);
  const byKey = new Map<string, TensorEntry>();
  const [ignored, unexpected] = [[] as string[], [] as string[]];
  for (const t of entries) {
    const key = opts.keyOf?.(t.name) ?? t.name;
    if (byKey.has(key)) throw new UserError(`${file}: tensor "${key}" appears twice; re-save the checkpoint with one copy`);
    if (expected.has(key)) byKey.set(key, t);
    else if (isKnownUnused(key)) ignored.push(key);
    else unexpected.push(key);
  }
  if (unexpected.length > 0) {
    throw new UserError(`${file}: ${unexpected.length} tensors that ${opts.configName} does not expect: ${few(unexpected)}; ${opts.fix}`);
  }
  const missing = [...expected.keys()].filter((k) => !byKey.has(k));
  if (missing.length > 0) throw new UserError(`${file}: missing ${missing.length} tensors that ${opts.configName} requires: ${few(missing)}; ${opts.fix}`);
  const matched = new Map<string, TensorEntry>();
  const wrong: string[] = [];
  for (const [key, shape] of expected) {
    const t = byKey.get(key)!;
    if (!FLOAT_DTYPES.has(t.dtype))
      throw new UserError(`${file}: tensor "${t.name}" is ${t.dtype}; model weights must be floating point (F32, F16, BF16 or F64); ${opts.fix}`);
    if (!shapeMatches(key, shape, t.shape)) wrong.push(`${key} [${t.shape}] (expected [${shape}])`);
    matched.set(key, t);
  }
  if (wrong.length > 0) throw new UserError(`${file}: ${wrong.length} tensors have the wrong shape for ${opts.configName}: ${few(wrong)}; ${opts.fix}`);
  return { matched, ignored };
}
