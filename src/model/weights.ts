/**
 * The loaded parameters of a model, handed to the modules by checkpoint key as their constructors ask for
 * them (`b.param('visual.trunk.norm.weight', [768])`), so a property path always equals a key. After
 * construction `untaken()` proves that every loaded tensor found its module.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ModuleBuilder, matrixShape, type MatrixLayout } from './module.js';

export class WeightStore extends ModuleBuilder {
  private readonly taken = new Set<string>();

  /** `layout`: how the loader laid out the weight matrices (the modules' `matrix` declarations). */
  constructor(
    readonly tensors: Map<string, tf.Tensor>,
    layout: MatrixLayout = 'out-in',
  ) {
    super();
    this.matrixLayout = layout;
  }

  /** The tensor stored under `key`; loading already checked every key and shape, so a miss is a bug. */
  protected tensorFor(key: string, declared: number[]): tf.Tensor {
    const t = this.tensors.get(key);
    if (t === undefined) throw new Error(`internal: no weight '${key}' (the loader and the modules disagree)`);
    const shape = this.matrices.has(key) ? matrixShape(declared, this.matrixLayout) : declared;
    if (!tf.util.arraysEqual(t.shape, shape)) throw new Error(`internal: weight '${key}' is [${t.shape}], the module declares [${shape}]`);
    this.taken.add(key);
    return t;
  }

  untaken(): string[] {
    return [...this.tensors.keys()].filter((k) => !this.taken.has(k));
  }

  override dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}
