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

type Owner = Record<string, unknown>;

/** One weight tensor, by the object holding it, and how it is re-initialised. */
interface Slot {
  owner: Owner;
  key: string;
  init: 'normal' | 'ones' | 'zeros';
}

/** One step of the cascade: a name for the table and the weights it re-initialises. */
export interface RandomizationStep {
  name: string;
  slots: Slot[];
}

/** Every weight tensor under a module object (nested objects and arrays included). */
function moduleSlots(module: object): Slot[] {
  const out: Slot[] = [];
  for (const [key, value] of Object.entries(module)) {
    if (value instanceof tf.Tensor) {
      const init = key === 'bias' ? 'zeros' : module instanceof LayerNorm ? 'ones' : 'normal';
      out.push({ owner: module as Owner, key, init });
    } else if (value !== null && typeof value === 'object') out.push(...moduleSlots(value));
  }
  return out;
}

/**
 * The image tower top-down, as Adebayo et al. randomise a classifier: the projection head (with the
 * trunk's final LayerNorm, so that nothing after the blocks stays trained), block L-1, ..., block 0,
 * then the patch embedding with the [CLS] and position embeddings.
 */
export function imageCascade(model: BiomedCLIPModel): RandomizationStep[] {
  const { trunk, head } = model.visual;
  const own = (key: string): Slot => ({ owner: trunk as unknown as Owner, key, init: 'normal' });
  return [
    { name: 'visual.head.proj + visual.trunk.norm', slots: [...moduleSlots(head), ...moduleSlots(trunk.norm)] },
    ...trunk.blocks.map((b, l) => ({ name: `visual.trunk.blocks.${l}`, slots: moduleSlots(b) })).reverse(),
    { name: 'visual.trunk.patch_embed + cls_token + pos_embed', slots: [...moduleSlots(trunk.patch_embed), own('cls_token'), own('pos_embed')] },
  ];
}

/** Swaps in seeded random weights; returns a function that disposes them and restores the originals. */
export function randomize(slots: Slot[], seed: number): () => void {
  const originals = slots.map((slot, k) => {
    const original = slot.owner[slot.key] as tf.Tensor;
    const shape = original.shape;
    slot.owner[slot.key] = slot.init === 'zeros' ? tf.zeros(shape) : slot.init === 'ones' ? tf.ones(shape) : tf.truncatedNormal(shape, 0, 0.02, 'float32', seed + k);
    return original;
  });
  return () => {
    slots.forEach((slot, k) => {
      (slot.owner[slot.key] as tf.Tensor).dispose();
      slot.owner[slot.key] = originals[k];
    });
  };
}
