/**
 * `explain`: one image-text pair, one or several methods, one relevance value per image patch (and per
 * text token where the method has one). Each method declares what it needs from the forward pass
 * (captured attention, gradients at some hook points); the methods asked for together share one pass,
 * so nothing is captured that no method reads. LeGrad needs a pass of its own (legrad.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { UserError } from '../errors.js';
import type { HostTensor } from '../host-tensor.js';
import { legrad, type LegradOptions } from './legrad.js';
import { clsAttention, gradcam, relevance, rollout, type RolloutOptions } from './maps.js';
import { attentionPoint, pointShape, probe, type PairInputs, type ProbeRequest, type ProbeResult } from './probe.js';

export const METHODS = ['attention', 'rollout', 'relevance', 'gradcam', 'legrad'] as const;
export type Method = (typeof METHODS)[number];

export interface ExplainOptions extends RolloutOptions, LegradOptions {
  /** attention and gradcam: the block (default: the last). */
  layer?: number;
  /** attention: one head instead of the mean over heads. */
  head?: number;
  /** relevance (default 0) and legrad (default layers − 2): the first layer taken into account. */
  startLayer?: number;
}

export interface Explanation {
  method: Method;
  /** Patch grid [rows, columns]: [14, 14] for BiomedCLIP. */
  grid: [number, number];
  /** One raw value per patch, row-major (patch (r, c) at r · columns + c), not normalised. */
  imageMap: Float32Array;
  /** One raw value per text token ([CLS] … [SEP]), or null for image-only methods. */
  textMap: Float32Array | null;
  /** s = exp(logit_scale) · cos(image, text), the explained number. */
  logit: number;
}

interface Plan {
  request: ProbeRequest;
  compute(result: ProbeResult): { imageMap: Float32Array; textMap: Float32Array | null };
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);

/** Checks `value` is an integer in [0, limit) and names the flag and the valid range otherwise. */
function checkIndex(what: string, value: number, limit: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= limit) throw new UserError(`${what} ${value}: must be an integer from 0 to ${limit - 1}`, 2);
}

/** What each probe-based method captures and differentiates, and how it turns that into maps. */
function plan(model: BiomedCLIPModel, method: Exclude<Method, 'legrad'>, opts: ExplainOptions, textTokens: number): Plan {
  const { vision, text } = model.config;
  const layer = opts.layer ?? vision.layers - 1;
  checkIndex('--layer', layer, vision.layers);
  const image = (l: number) => attentionPoint(model, 'image', l);
  const txtPoint = (l: number) => attentionPoint(model, 'text', l);
  const both = (l: number) => [image(l), txtPoint(Math.min(l, text.layers - 1))];
  switch (method) {
    case 'attention': {
      if (opts.head !== undefined) checkIndex('--head', opts.head, Math.min(vision.heads, text.heads));
      const [img, txt] = both(layer);
      return {
        request: { capture: [img, txt] },
        compute: (r) => ({ imageMap: clsAttention(r.values.get(img)!, opts.head).slice(1), textMap: clsAttention(r.values.get(txt)!, opts.head) }),
      };
    }
    case 'rollout': {
      const ratio = opts.discardRatio ?? 0;
      if (!(ratio >= 0 && ratio < 1)) throw new UserError(`--discard-ratio ${ratio}: must be in [0, 1)`, 2);
      const img = range(0, vision.layers).map(image);
      const txt = range(0, text.layers).map(txtPoint);
      const maps = (names: string[], r: ProbeResult) =>
        rollout(
          names.map((n) => r.values.get(n)!),
          opts,
        );
      return { request: { capture: [...img, ...txt] }, compute: (r) => ({ imageMap: maps(img, r).slice(1), textMap: maps(txt, r) }) };
    }
    case 'relevance': {
      const start = opts.startLayer ?? 0;
      checkIndex('--start-layer', start, Math.min(vision.layers, text.layers));
      const img = range(start, vision.layers).map(image);
      const txt = range(start, text.layers).map(txtPoint);
      const names = [...img, ...txt];
      const r = (ns: string[], res: ProbeResult) =>
        relevance(
          ns.map((n) => res.values.get(n)!),
          ns.map((n) => res.gradients.get(n)!),
        );
      return {
        request: { capture: names, gradients: names.map((name) => ({ name, shape: pointShape(model.config, name, textTokens) })) },
        compute: (res) => ({ imageMap: r(img, res).slice(1), textMap: r(txt, res) }),
      };
    }
    case 'gradcam': {
      const name = model.visual.trunk.blocks[layer].norm1.point.name;
      return {
        request: { capture: [name], gradients: [{ name, shape: pointShape(model.config, name, textTokens) }] },
        compute: (r) => ({ imageMap: gradcam(r.values.get(name)!, r.gradients.get(name)!), textMap: null }),
      };
    }
  }
}

/** Union of several requests: each hook captured or differentiated once. */
function merge(requests: ProbeRequest[]): ProbeRequest {
  const capture = [...new Set(requests.flatMap((r) => r.capture ?? []))];
  const gradients = [...new Map(requests.flatMap((r) => r.gradients ?? []).map((g) => [g.name, g])).values()];
  return { capture, gradients };
}

/**
 * Explains the pair's logit with each method in `methods`. `inputs` is one image and one text (batch 1,
 * no padding: a padded text would give its [PAD] tokens relevance rows of their own).
 */
export async function explain(model: BiomedCLIPModel, inputs: PairInputs, methods: readonly Method[], opts: ExplainOptions = {}): Promise<Explanation[]> {
  if (inputs.pixels.shape[0] !== 1 || inputs.ids.shape[0] !== 1) throw new Error('explain takes one image and one text');
  const grid = model.config.vision.imageSize / model.config.vision.patchSize;
  const probed = methods.filter((m): m is Exclude<Method, 'legrad'> => m !== 'legrad');
  const plans = probed.map((m) => plan(model, m, opts, inputs.ids.shape[1]));
  const result = plans.length > 0 ? await probe(model, inputs, merge(plans.map((p) => p.request))) : undefined;
  const out: Explanation[] = [];
  for (const method of methods) {
    if (method === 'legrad') {
      if (opts.startLayer !== undefined) checkIndex('--start-layer', opts.startLayer, model.config.vision.layers);
      const { imageMap, logit } = await legrad(model, inputs, opts);
      out.push({ method, grid: [grid, grid], imageMap, textMap: null, logit });
    } else {
      const maps = plans[probed.indexOf(method)].compute(result!);
      out.push({ method, grid: [grid, grid], ...maps, logit: result!.logit });
    }
  }
  return out;
}

/**
 * One pair as host arrays: pixels [1, 3, S, S] and unpadded token ids [1, T]. What a pair is between
 * threads (a pool worker receives it with its buffers transferred) and what `explainHost` takes.
 */
export interface HostPair {
  pixels: HostTensor;
  ids: { shape: number[]; data: Int32Array };
}

/** `explain` on a host pair: the same tensors `pairInputs` makes, made here and disposed after. */
export async function explainHost(model: BiomedCLIPModel, pair: HostPair, methods: readonly Method[], opts: ExplainOptions = {}): Promise<Explanation[]> {
  const pixels = tf.tensor4d(pair.pixels.data, pair.pixels.shape as [number, number, number, number]);
  const ids = tf.tensor2d(pair.ids.data, pair.ids.shape as [number, number], 'int32');
  try {
    return await explain(model, { pixels, ids }, methods, opts);
  } finally {
    tf.dispose([pixels, ids]);
  }
}
