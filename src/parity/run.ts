/**
 * A parity run: take a reference trace (a golden-layout safetensors file made by PyTorch: `inputs.*`,
 * `outputs.*` and hook tensors under their module paths), run OUR model on the file's own inputs, and
 * compare every tensor the reference holds. Running on the reference's inputs (not on re-preprocessed
 * images or re-tokenized texts) isolates the forward pass: a difference here is the model's, never the
 * image decoder's or the tokenizer's.
 *
 * Nothing in the reference is skipped silently: a hook we do not produce, or one of another shape, is a
 * failing row with the reason, so a renamed or missing hook can never make a run look greener.
 */
import type { BiomedCLIP } from '../api/biomedclip.js';
import { UserError } from '../errors.js';
import { globToRegExp } from '../model/hooks.js';
import { SafetensorsFile } from '../weights/index.js';
import { diffTensors, toleranceFor, type HookDiff, type HostTensor } from './compare.js';

export interface ParityOptions {
  /** Globs of hook names to compare (`outputs.*` are always compared); default: every hook. */
  capture?: string[];
  /** Multiplies every tolerance (e.g. 10 for a looser check on another backend); default 1. */
  toleranceScale?: number;
}

export interface ParityReport {
  reference: string;
  /** The reference file's `__metadata__` (command, torch version, ...), to say what was compared. */
  referenceMetadata: Record<string, string>;
  model: string;
  backend: string;
  /** One row per compared tensor, in our forward order; reference-only hooks sit where the reference has them. */
  rows: HookDiff[];
  /** Hooks we produce that the reference lacks: informational (a reference may capture fewer). */
  oursOnly: string[];
  /** The first failing row in forward order: where the two implementations start to diverge. */
  firstFailure: HookDiff | null;
  pass: boolean;
}

type Inputs = { pixelValues?: HostTensor; inputIds?: { shape: number[]; data: Int32Array } };

/** Runs `clip` on the reference's inputs and compares every tensor; never throws on a mismatch. */
export async function runParity(clip: BiomedCLIP, referencePath: string, opts: ParityOptions = {}): Promise<ParityReport> {
  const scale = opts.toleranceScale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`--tolerance-scale ${scale}: expected a positive number`, 2);
  const ref = await SafetensorsFile.open(referencePath);
  try {
    const inputs = await readReferenceInputs(ref);
    checkInputsFitModel(ref.path, inputs, clip);
    const capture = opts.capture ?? ['*'];
    const ours = await clip.trace(inputs, { capture });
    // The raw temperature parameter is part of the golden layout; it is a weight, not an activation.
    ours.set('outputs.logit_scale', { shape: clip.model.logit_scale.shape, data: clip.model.logit_scale.dataSync() as Float32Array });
    const wanted = comparedNames(ref, capture);
    const rows: HookDiff[] = [];
    for (const name of forwardOrder([...ours.keys()], wanted)) {
      const refTensor = { shape: ref.tensors.get(name)!.shape, data: await readAsFloat(ref, name) };
      const mine = ours.get(name);
      const tolerance = toleranceFor(name) * scale;
      rows.push(mine ? diffTensors(name, mine, refTensor, tolerance) : missingRow(name, refTensor.shape, tolerance));
    }
    const wantedSet = new Set(wanted);
    const oursOnly = [...ours.keys()].filter((n) => !n.startsWith('inputs.') && !wantedSet.has(n));
    const firstFailure = rows.find((r) => !r.pass) ?? null;
    return { reference: referencePath, referenceMetadata: ref.metadata, model: clip.modelDir, backend: clip.backend, rows, oursOnly, firstFailure, pass: firstFailure === null && rows.length > 0 };
  } finally {
    await ref.close();
  }
}

/** The reference's tensors to compare: every non-input tensor; hooks filtered by `capture`, outputs always. */
function comparedNames(ref: SafetensorsFile, capture: string[]): string[] {
  const res = capture.map(globToRegExp);
  return [...ref.tensors.keys()].filter((n) => !n.startsWith('inputs.') && (n.startsWith('outputs.') || res.some((re) => re.test(n))));
}

/**
 * Orders the reference's names by our forward order (hooks as they fire, then outputs). A name we do not
 * produce keeps its place relative to its neighbours in the reference file, so a missing hook is reported
 * where it would have fired, and the first failing row is still the first divergence.
 */
export function forwardOrder(oursOrder: string[], referenceNames: string[]): string[] {
  const position = new Map(oursOrder.map((n, i) => [n, i]));
  let last = -1;
  const keyed = referenceNames.map((name, i) => {
    const p = position.get(name);
    if (p !== undefined) last = p;
    // Unknown names sort just after the previous known one, ties broken by reference order.
    return { name, key: p ?? last + 0.5, i };
  });
  return keyed.sort((a, b) => a.key - b.key || a.i - b.i).map((k) => k.name);
}

function missingRow(name: string, shape: number[], tolerance: number): HookDiff {
  return { name, shape, tolerance, maxAbs: NaN, maxRel: NaN, cosine: NaN, pass: false, problem: 'not produced by our model' };
}

/** Any stored tensor as float32 (integer ids widened), for comparing two files value by value. */
export async function readAsFloat(f: SafetensorsFile, name: string): Promise<Float32Array> {
  const dtype = f.tensors.get(name)!.dtype;
  if (dtype === 'I64' || dtype === 'I32') return Float32Array.from(await f.readInt32(name));
  return f.readFloat32(name);
}

/** `inputs.pixel_values` [B,3,S,S] and/or `inputs.input_ids` [N,T], as the reference stored them. */
export async function readReferenceInputs(f: SafetensorsFile): Promise<Inputs> {
  const out: Inputs = {};
  if (f.tensors.has('inputs.pixel_values')) {
    out.pixelValues = { shape: f.tensors.get('inputs.pixel_values')!.shape, data: await f.readFloat32('inputs.pixel_values') };
  }
  if (f.tensors.has('inputs.input_ids')) {
    out.inputIds = { shape: f.tensors.get('inputs.input_ids')!.shape, data: await f.readInt32('inputs.input_ids') };
  }
  if (!out.pixelValues && !out.inputIds) {
    throw new UserError(`${f.path}: has neither inputs.pixel_values nor inputs.input_ids, so it is not a reference trace; make one with scripts/export_reference.py or \`biomedclip trace\``);
  }
  return out;
}

/** A reference made for another model (other image size, vocab, positions) is the user's mistake, not a crash. */
function checkInputsFitModel(file: string, inputs: Inputs, clip: BiomedCLIP): void {
  const s = clip.config.vision.imageSize;
  const px = inputs.pixelValues?.shape;
  if (px && (px.length !== 4 || px[1] !== 3 || px[2] !== s || px[3] !== s)) {
    throw new UserError(`${file}: inputs.pixel_values is [${px}] but the model in ${clip.modelDir} takes [B,3,${s},${s}]; pass the --model the reference was made for`);
  }
  const ids = inputs.inputIds;
  if (!ids) return;
  const t = clip.config.text;
  if (ids.shape.length !== 2 || ids.shape[1] > t.maxPositions) {
    throw new UserError(`${file}: inputs.input_ids is [${ids.shape}]; the model takes [N,T] with T <= ${t.maxPositions}`);
  }
  const bad = ids.data.findIndex((x) => x < 0 || x >= t.vocabSize);
  if (bad >= 0) throw new UserError(`${file}: inputs.input_ids holds id ${ids.data[bad]}, outside this model's vocabulary of ${t.vocabSize}; pass the --model the reference was made for`);
}
