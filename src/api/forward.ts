/**
 * One forward pass over whatever inputs are given, with hooks: the common core of embed, classify and
 * trace. Everything runs inside `tf.tidy`; the returned tensors (and the captured ones in `hooks`) are
 * the only survivors, owned by the caller.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { Hooks, checkPatterns, type HookOptions } from '../model/hooks.js';
import { hookPoints } from '../model/module.js';
import type { TraceSource } from '../parity/compare.js';

export interface ForwardInputs {
  /** [B, 3, S, S] normalized pixels. */
  pixelValues?: tf.Tensor4D;
  /** [N, T] token ids, [PAD] = 0 after each text. */
  inputIds?: tf.Tensor2D;
}

export interface ForwardResult {
  imageFeatures?: tf.Tensor2D;
  textFeatures?: tf.Tensor2D;
  /** [B, N], present when both towers ran. */
  logitsPerImage?: tf.Tensor2D;
  hooks: Hooks;
}

/** Runs the towers that have inputs; a capture or edit pattern that matches no hook of them is a UserError. */
export function forward(model: BiomedCLIPModel, inputs: ForwardInputs, hookOptions: HookOptions = {}): ForwardResult {
  // Each tower's hook points are its own module tree's, so which tower a pattern names needs no name prefix.
  const towers = [
    { names: hookPoints(model.visual).map((p) => p.name), tower: 'image', input: '--image', runs: inputs.pixelValues !== undefined },
    { names: hookPoints(model.text).map((p) => p.name), tower: 'text', input: '--text', runs: inputs.inputIds !== undefined },
  ];
  const running = towers.filter((t) => t.runs).flatMap((t) => t.names);
  const idle = towers.filter((t) => !t.runs);
  checkPatterns(hookOptions.capture ?? [], running, 'capture pattern', idle);
  checkPatterns(
    (hookOptions.edits ?? []).map((e) => e.pattern),
    running,
    'edit pattern',
    idle,
  );
  const hooks = new Hooks(hookOptions);
  const out = tf.tidy(() => {
    const r: Record<string, tf.Tensor2D> = {};
    if (inputs.pixelValues) r.imageFeatures = model.encodeImage(inputs.pixelValues, hooks);
    if (inputs.inputIds) r.textFeatures = model.encodeText(inputs.inputIds, hooks);
    if (r.imageFeatures && r.textFeatures) r.logitsPerImage = model.logits(r.imageFeatures, r.textFeatures);
    return r;
  });
  return { ...out, hooks };
}

/** The result as a flat name → tensor map: captured hooks, then `outputs.*` (the golden file's names). */
export function resultTensors(result: ForwardResult): Map<string, tf.Tensor> {
  const m = new Map<string, tf.Tensor>(result.hooks.captured);
  if (result.imageFeatures) m.set('outputs.image_features', result.imageFeatures);
  if (result.textFeatures) m.set('outputs.text_features', result.textFeatures);
  if (result.logitsPerImage) m.set('outputs.logits_per_image', result.logitsPerImage);
  return m;
}

/** The result as a trace for `compareTraces`: each tensor is downloaded only when compared. */
export function traceOfResult(result: ForwardResult): TraceSource {
  const m = resultTensors(result);
  return { names: [...m.keys()], shape: (n) => m.get(n)!.shape, read: async (n) => (await m.get(n)!.data()) as Float32Array };
}

export function disposeResult(result: ForwardResult): void {
  result.imageFeatures?.dispose();
  result.textFeatures?.dispose();
  result.logitsPerImage?.dispose();
  result.hooks.dispose();
}
