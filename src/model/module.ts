/**
 * How a module declares itself. A constructor receives a `ModuleBuilder` and, in forward order, asks it
 * for each parameter it holds (checkpoint key + PyTorch shape) and declares each hook point it publishes
 * (name + output shape + how it is compared with a reference). That one pass over the constructors is
 * the model's only description of its structure; two builders read it:
 *   - `SpecRecorder` hands out no tensors. Constructing a model with it yields, from the config alone,
 *     the checkpoint's key table (strict loading, convert, summary's parameter counts) and the hook table
 *     (summary's shapes, parity's tolerances, the docs' hook list): see `modelSpec` in spec.ts.
 *   - `WeightStore` (weights.ts) hands each module its loaded tensor.
 * A hook point's name is its module's path (`visual.trunk.blocks.3.attn.qkv`); points that are not
 * modules (`.probs`, `.scores`, `.context`, `.resid_mid`) are declared beside the module that publishes them.
 */
import type * as tf from '@tensorflow/tfjs-core';

/**
 * How the weight matrices that multiply activations (`ModuleBuilder.matrix`) are held in memory: PyTorch's
 * [out, in], or [in, out]. The loader picks, per backend, the one that backend multiplies fastest (load.ts).
 */
export type MatrixLayout = 'out-in' | 'in-out';

/** [out, ...in] (a PyTorch weight's shape) as the 2-D matrix of `layout`. */
export function matrixShape(shape: number[], layout: MatrixLayout): [number, number] {
  const [out, inputs] = [shape[0], shape.slice(1).reduce((a, b) => a * b, 1)];
  return layout === 'out-in' ? [out, inputs] : [inputs, out];
}

/** A dimension of a hook's output: a number fixed by the config, or the batch `B`, or the text length `T`. */
export type Dim = number | 'B' | 'T';

/**
 * How a point's values compare with a reference run (tolerances in parity/compare.ts):
 * `probs` live in [0, 1] and are held tightest; `scores` are pre-softmax logits with the padding mask
 * (float32's lowest value) added; everything else is an `activation`.
 */
export type PointKind = 'activation' | 'scores' | 'probs';

export interface HookPointSpec {
  /** Where the point fires: a module path, or a module path plus a declared suffix. */
  name: string;
  shape: Dim[];
  kind: PointKind;
}

export abstract class ModuleBuilder {
  /** Checkpoint key → PyTorch shape, in the order the constructors ask (the checkpoint's order). */
  readonly params = new Map<string, number[]>();
  /** Every hook point, in the order the forward pass fires them. */
  readonly points: HookPointSpec[] = [];
  /** The keys declared through `matrix`: the ones the loader may lay out for the backend. */
  readonly matrices = new Set<string>();
  /** How `matrix` hands its tensors out (a recorder's is irrelevant: it hands out none). */
  matrixLayout: MatrixLayout = 'out-in';

  /** The parameter stored under `key`, which has `shape` (Linear weights are [out, in], as in PyTorch). */
  param(key: string, shape: number[]): tf.Tensor {
    if (this.params.has(key)) throw new Error(`internal: parameter '${key}' declared twice`);
    this.params.set(key, shape);
    return this.tensorFor(key, shape);
  }

  /**
   * A weight that multiplies activations (a Linear weight; the patch kernel seen as [W, 3·P·P]), declared
   * with its PyTorch shape [out, ...in]; handed out as a 2-D matrix in `matrixLayout`.
   */
  matrix(key: string, shape: number[]): tf.Tensor2D {
    this.matrices.add(key);
    return this.param(key, shape) as tf.Tensor2D;
  }

  /** Declares that the forward pass publishes `name` with `shape`; returns the name for `hooks.point`. */
  point(name: string, shape: Dim[], kind: PointKind = 'activation'): string {
    if (this.points.some((p) => p.name === name)) throw new Error(`internal: hook point '${name}' declared twice`);
    this.points.push({ name, shape, kind });
    return name;
  }

  /** Frees the tensors this builder handed out (none for a recorder). */
  dispose(): void {}

  protected abstract tensorFor(key: string, shape: number[]): tf.Tensor;
}

/**
 * Records the declarations and hands out no tensors. Constructors only store what `param` returns, so
 * the model object it builds has the full structure and no weights; it is never run.
 */
export class SpecRecorder extends ModuleBuilder {
  protected tensorFor(): tf.Tensor {
    return undefined as unknown as tf.Tensor;
  }
}

/** A point's shape with `B` and `T` filled in. */
export function bindShape(shape: Dim[], dims: { B: number; T: number }): number[] {
  return shape.map((d) => (typeof d === 'number' ? d : dims[d]));
}
