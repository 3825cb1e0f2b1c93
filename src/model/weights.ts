/**
 * The loaded parameters of a model, looked up by checkpoint key. Modules take their tensors from here in
 * their constructors (`w.take('visual.trunk.norm.weight')`), so a property path always equals a key, and
 * after construction `untaken()` proves that every loaded tensor found its module.
 */
import * as tf from '@tensorflow/tfjs-core';

export class WeightStore {
  private readonly taken = new Set<string>();

  constructor(readonly tensors: Map<string, tf.Tensor>) {}

  /** The tensor stored under `key`; throws if absent (loading already checked every key, so this is a bug). */
  take(key: string): tf.Tensor {
    const t = this.tensors.get(key);
    if (t === undefined) throw new Error(`internal: no weight '${key}' (the key table and the modules disagree)`);
    this.taken.add(key);
    return t;
  }

  untaken(): string[] {
    return [...this.tensors.keys()].filter((k) => !this.taken.has(k));
  }

  /** Number of scalar parameters. */
  parameterCount(): number {
    let n = 0;
    for (const t of this.tensors.values()) n += t.size;
    return n;
  }

  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
