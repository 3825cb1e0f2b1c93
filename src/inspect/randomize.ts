/**
 * Re-initialising parts of the model for the cascading randomisation check (Adebayo et al. 2018,
 * "Sanity Checks for Saliency Maps"): weights are swapped in place for seeded random ones, the check
 * runs, and the trained weights are put back (also when the check throws), so the model is unchanged.
 *
 * The random weights follow timm's ViT initialisation: truncated normal (std 0.02, cut at 2 std) for
 * Linear, patch-embedding, [CLS] and position weights, zero biases, LayerNorm weight 1 and bias 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { LayerNorm } from '../model/layers.js';
import { isModule, type Module } from '../model/module.js';

/** One weight tensor, by its checkpoint key and the module under which it is stored, and how it is re-initialised. */
interface Slot {
  owner: Module;
  key: string;
  init: 'normal' | 'ones' | 'zeros';
}

/** One step of the cascade: a name for the table and the weights it re-initialises. */
export interface RandomizationStep {
  name: string;
  slots: Slot[];
}

/** The keys of LayerNorm weights under `module`: those start at 1, not at random. */
function layerNormWeights(module: Module): Set<string> {
  const found = new Set<string>();
  const walk = (m: Module) => {
    if (m instanceof LayerNorm) found.add(m.parameters()[0][0]); // [weight, bias]
    for (const c of m.children()) if (isModule(c)) walk(c);
  };
  walk(module);
  return found;
}

/** Every weight tensor under `module` (its `parameters()`), or those `keep` selects. */
function moduleSlots(module: Module, keep: (t: tf.Tensor) => boolean = () => true): Slot[] {
  const ones = layerNormWeights(module);
  return module
    .parameters()
    .filter(([, t]) => keep(t))
    .map(([key]) => ({
      owner: module,
      key,
      init: key.endsWith('.bias') ? 'zeros' : ones.has(key) ? 'ones' : 'normal',
    }));
}

/**
 * The image tower top-down, as Adebayo et al. randomise a classifier: the projection head (with the
 * trunk's final LayerNorm, so that nothing after the blocks stays trained), block L-1, ..., block 0,
 * then the patch embedding with the [CLS] and position embeddings.
 */
export function imageCascade(model: BiomedCLIPModel): RandomizationStep[] {
  const { trunk, head } = model.visual;
  const embeddings = moduleSlots(trunk, (t) => t === trunk.cls_token || t === trunk.pos_embed);
  return [
    { name: `${head.proj.path} + ${trunk.norm.path}`, slots: [...moduleSlots(head), ...moduleSlots(trunk.norm)] },
    ...trunk.blocks.map((b) => ({ name: b.path, slots: moduleSlots(b) })).reverse(),
    { name: `${trunk.patch_embed.path} + cls_token + pos_embed`, slots: [...moduleSlots(trunk.patch_embed), ...embeddings] },
  ];
}

/** Swaps in seeded random weights; returns a function that disposes them and restores the originals. */
export function randomize(slots: Slot[], seed: number): () => void {
  const originals = slots.map((slot, k) => {
    const shape = slot.owner.parameters().find(([key]) => key === slot.key)![1].shape;
    const fresh = slot.init === 'zeros' ? tf.zeros(shape) : slot.init === 'ones' ? tf.ones(shape) : tf.truncatedNormal(shape, 0, 0.02, 'float32', seed + k);
    return slot.owner.replaceParameter(slot.key, fresh);
  });
  return () => {
    slots.forEach((slot, k) => slot.owner.replaceParameter(slot.key, originals[k]).dispose());
  };
}
