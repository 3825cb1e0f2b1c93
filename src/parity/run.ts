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
import { UserError } from '../errors.js';
import { globToRegExp } from '../model/hooks.js';
import { SafetensorsFile } from '../weights/index.js';
import type { HostTensor } from '../host-tensor.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import type { ClipConfig } from '../model/config.js';
import { compareTraces, pointKinds, traceOfMap, type TraceComparison, type TraceSource } from './compare.js';

export interface ParityOptions {
  /** Globs of hook names to compare (`outputs.*` are always compared); default: every hook. */
  capture?: string[];
  /** Multiplies every tolerance (e.g. 10 for a looser check on another backend); default 1. */
  toleranceScale?: number;
}

export interface ParityReport extends TraceComparison {
  reference: string;
  /** The reference file's `__metadata__` (command, torch version, ...), to say what was compared. */
  referenceMetadata: Record<string, string>;
  model: string;
  backend: string;
  pass: boolean;
}

type Inputs = { pixelValues?: HostTensor; inputIds?: { shape: number[]; data: Int32Array } };

/** What a parity run needs from a model (the `BiomedCLIP` facade has it): the network, its origin, a trace. */
export interface TracedModel {
  readonly model: BiomedCLIPModel;
  readonly config: ClipConfig;
  readonly modelDir: string;
  readonly backend: string;
  trace(inputs: Inputs, opts: { capture: string[] }): Promise<Map<string, HostTensor>>;
}

/** Runs `clip` on the reference's inputs and compares every tensor; never throws on a mismatch. */
export async function runParity(clip: TracedModel, referencePath: string, opts: ParityOptions = {}): Promise<ParityReport> {
  const scale = opts.toleranceScale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) throw new UserError(`--tolerance-scale ${scale}: expected a positive number`, 2);
  const ref = await SafetensorsFile.open(referencePath);
  try {
    const inputs = await readReferenceInputs(ref);
    checkInputsFitModel(ref.path, inputs, clip);
    const capture = opts.capture ?? ['*'];
    const ours = await clip.trace(inputs, { capture });
    // The raw temperature parameter is part of the golden layout; it is a weight, not an activation.
    ours.set('outputs.logit_scale', { shape: clip.model.logit_scale.shape, data: (await clip.model.logit_scale.data()) as Float32Array }); // async: webgpu
    const names = comparedNames(ref, capture);
    const result = await compareTraces(traceOfMap(ours), traceOfFile(ref), { kinds: pointKinds(clip.model.points), names, scale });
    return {
      reference: referencePath,
      referenceMetadata: ref.metadata,
      model: clip.modelDir,
      backend: clip.backend,
      ...result,
      pass: result.firstFailure === null && result.rows.length > 0,
    };
  } finally {
    await ref.close();
  }
}

/** The reference's tensors to compare: every non-input tensor; hooks filtered by `capture`, outputs always. */
function comparedNames(ref: SafetensorsFile, capture: string[]): string[] {
  const res = capture.map(globToRegExp);
  return [...ref.tensors.keys()].filter((n) => !n.startsWith('inputs.') && (n.startsWith('outputs.') || res.some((re) => re.test(n))));
}

/** A safetensors trace (a golden or reference file) read one tensor at a time. */
export function traceOfFile(f: SafetensorsFile): TraceSource {
  return { names: [...f.tensors.keys()], shape: (n) => f.tensors.get(n)!.shape, read: (n) => readAsFloat(f, n) };
}

/** Any stored tensor as float32 (integer ids widened), for comparing two files value by value. */
export async function readAsFloat(f: SafetensorsFile, name: string): Promise<Float32Array> {
  const dtype = f.tensors.get(name)!.dtype;
  if (dtype === 'I64' || dtype === 'I32') return Float32Array.from(await f.readInt32(name));
  return f.readFloat32(name);
}

/** `inputs.pixel_values` [B,3,S,S] and/or `inputs.input_ids` [N,T], as the reference stored them. */
/**
 * The inputs of a trace or reference file: `inputs.pixel_values` [B,3,S,S] and/or `inputs.input_ids` [N,T]
 * (the golden layout), or the bare `pixel_values` / `input_ids` of an inputs-only file.
 */
export async function readReferenceInputs(f: SafetensorsFile): Promise<Inputs> {
  const pick = (name: string) => [`inputs.${name}`, name].find((n) => f.tensors.has(n));
  const [px, ids] = [pick('pixel_values'), pick('input_ids')];
  const out: Inputs = {};
  if (px) out.pixelValues = { shape: f.tensors.get(px)!.shape, data: await f.readFloat32(px) };
  if (ids) out.inputIds = { shape: f.tensors.get(ids)!.shape, data: await f.readInt32(ids) };
  if (!px && !ids) {
    throw new UserError(
      `${f.path}: has neither inputs.pixel_values nor inputs.input_ids (nor bare pixel_values / input_ids), so it holds no model inputs; make one with scripts/export_reference.py or \`biomedclip trace\``,
    );
  }
  return out;
}

/** Inputs made for another model (other image size, vocab, positions) are the user's mistake, not a crash. */
export function checkInputsFitModel(file: string, inputs: Inputs, clip: TracedModel): void {
  const s = clip.config.vision.imageSize;
  const px = inputs.pixelValues?.shape;
  if (px && (px.length !== 4 || px[1] !== 3 || px[2] !== s || px[3] !== s)) {
    throw new UserError(
      `${file}: inputs.pixel_values is [${px}] but the model in ${clip.modelDir} takes [B,3,${s},${s}]; pass the --model the reference was made for`,
    );
  }
  const ids = inputs.inputIds;
  if (!ids) return;
  const t = clip.config.text;
  if (ids.shape.length !== 2 || ids.shape[1] > t.maxPositions) {
    throw new UserError(`${file}: inputs.input_ids is [${ids.shape}]; the model takes [N,T] with T <= ${t.maxPositions}`);
  }
  const bad = ids.data.findIndex((x) => x < 0 || x >= t.vocabSize);
  if (bad >= 0)
    throw new UserError(
      `${file}: inputs.input_ids holds id ${ids.data[bad]}, outside this model's vocabulary of ${t.vocabSize}; pass the --model the reference was made for`,
    );
}
