/**
 * One forward pass of an image-text pair that returns what an explanation method asks for, and nothing
 * else: the values of some hook points and the gradient of the target with respect to others.
 *
 * The target is the pair's logit s = exp(logit_scale) · cos(image, text): the number zero-shot
 * classification ranks (softmax over labels is monotone in it). ∂s/∂x for a hook point x is taken by
 * adding a zero tensor δ at that point (`x + δ` is `x` in value) and differentiating s with respect to
 * δ: the gradient flowing into δ is exactly the gradient flowing into x. No weights need gradients, and
 * the backward pass starts at the earliest requested point, not at the pixels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttentionPoints } from '../model/attention.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import type { ClipConfig } from '../model/config.js';
import { pointShapes } from '../model/spec.js';
import { Hooks, type EditFn } from '../model/hooks.js';
import type { HostTensor } from '../host-tensor.js';
import { registerGradients } from './gradients.js';
import type { Tower } from './resume.js';

/** One image and one text, as model inputs: [1, 3, S, S] normalized pixels and [1, T] token ids. */
export interface PairInputs {
  pixels: tf.Tensor4D;
  ids: tf.Tensor2D;
}

export interface ProbeRequest {
  /** Hook names whose activations to return. */
  capture?: string[];
  /** Hook names whose ∂s/∂activation to return, with the activation's shape (see `pointShape`). */
  gradients?: Array<{ name: string; shape: number[] }>;
  /** Extra edits applied during the pass (ablations, randomisation checks). */
  edits?: Array<{ pattern: string; fn: EditFn }>;
}

export interface ProbeResult {
  /** s = exp(logit_scale) · cos(image, text) of the pair. */
  logit: number;
  values: Map<string, HostTensor>;
  gradients: Map<string, HostTensor>;
}

/**
 * The attention module of one tower's layer, whose hook points are `scores`, `probs` and `context`.
 * `model` may be a loaded model or `modelSpec(cfg).model` (names only).
 */
export function attentionModule(model: Pick<BiomedCLIPModel, 'visual' | 'text'>, tower: Tower, layer: number): AttentionPoints {
  return tower === 'image' ? model.visual.trunk.blocks[layer].attn : model.text.transformer.encoder.layer[layer].attention.self;
}

/** The hook name of the attention probabilities [B, H, S, S] of one tower's layer. */
export function attentionPoint(model: Pick<BiomedCLIPModel, 'visual' | 'text'>, tower: Tower, layer: number): string {
  return attentionModule(model, tower, layer).probs.name;
}

/** The shape at batch 1 (texts of `textTokens` tokens) of a hook point, as the model declares it. */
export function pointShape(cfg: ClipConfig, name: string, textTokens: number): number[] {
  const shape = pointShapes(cfg, { images: 1, texts: 1, tokens: textTokens }).get(name);
  if (shape === undefined) throw new Error(`internal: the model has no hook point '${name}'`);
  return shape;
}

/** The pair's logit as a scalar tensor: both towers, the CLIP head, batch 1. */
export function pairLogit(model: BiomedCLIPModel, inputs: PairInputs, hooks: Hooks): tf.Scalar {
  const image = model.encodeImage(inputs.pixels, hooks);
  const text = model.encodeText(inputs.ids, hooks);
  return tf.reshape(model.logits(image, text), []) as tf.Scalar;
}

/** Runs the pair once (forward, plus backward when gradients are requested) and returns host copies. */
export async function probe(model: BiomedCLIPModel, inputs: PairInputs, request: ProbeRequest): Promise<ProbeResult> {
  const wanted = request.gradients ?? [];
  if (wanted.length > 0) registerGradients();
  const deltas = wanted.map((g) => tf.zeros(g.shape));
  let hooks: Hooks | undefined;
  const run = (...ds: tf.Tensor[]): tf.Scalar => {
    const injections = wanted.map((g, i) => ({ pattern: g.name, fn: (x: tf.Tensor) => tf.add(x, ds[i]) }));
    hooks = new Hooks({ capture: request.capture ?? [], edits: [...(request.edits ?? []), ...injections] });
    return pairLogit(model, inputs, hooks);
  };
  let logit: tf.Tensor | undefined;
  let grads: tf.Tensor[] = [];
  try {
    if (wanted.length > 0) {
      const out = tf.valueAndGrads(run)(deltas);
      [logit, grads] = [out.value, out.grads];
    } else {
      logit = tf.tidy(() => run());
    }
    const values = new Map<string, HostTensor>();
    for (const name of request.capture ?? []) values.set(name, await host(hooks!.captured.get(name), name));
    const gradients = new Map<string, HostTensor>();
    for (let i = 0; i < wanted.length; i++) gradients.set(wanted[i].name, await host(grads[i], wanted[i].name));
    return { logit: (await logit.data())[0], values, gradients };
  } finally {
    hooks?.dispose();
    tf.dispose([...deltas, ...grads, ...(logit ? [logit] : [])]);
  }
}

async function host(t: tf.Tensor | undefined, name: string): Promise<HostTensor> {
  if (t === undefined) throw new Error(`internal: the forward pass never reached hook '${name}'`);
  return { shape: t.shape, data: (await t.data()) as Float32Array };
}
