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
 * `point` returns a `HookPoint` object that the module keeps as a field and fires through
 * (`hooks.fire(this.probs, x)`), so a name is written once, where it is declared, and code elsewhere
 * reads it from the module (`model.visual.trunk.blocks[3].attn.probs.name`) instead of retyping it.
 *
 * Every module is also a node of the module tree (`Module`): its `path`, its `children()` in forward
 * order and its `parameters()` by checkpoint key, which summary, randomisation and the tests walk.
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

/** A point the forward pass publishes: its full name, its declared shape and how parity compares it. */
export class HookPoint implements HookPointSpec {
  constructor(
    readonly name: string,
    readonly shape: Dim[],
    readonly kind: PointKind,
  ) {}
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

  /** Declares that the forward pass publishes `name` with `shape`; returns the point for `hooks.fire`. */
  point(name: string, shape: Dim[], kind: PointKind = 'activation'): HookPoint {
    if (this.points.some((p) => p.name === name)) throw new Error(`internal: hook point '${name}' declared twice`);
    this.points.push({ name, shape, kind }); // the table stays plain data (JSON, docs); the handle is the module's
    return new HookPoint(name, shape, kind);
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

/** A node of the module tree: a module, or a hook point that is not a module (`attn.probs`, `resid_mid`). */
export type TreeNode = Module | HookPoint;

/** What every module of the tree offers, whatever holds its children (a class, or a `ModuleList`). */
export interface Module {
  /** The checkpoint path: keys of its parameters start with it, its own hook point (if any) is named it. */
  readonly path: string;
  /** The hook point of its own output (named `path`), when it publishes one. */
  readonly point?: HookPoint;
  /** Submodules and hook-only points, in the order the forward pass runs them. */
  children(): TreeNode[];
  /** [checkpoint key, tensor] of its own parameters, then its children's, in checkpoint order. */
  parameters(): Array<[string, tf.Tensor]>;
  /** Puts `tensor` in place of the parameter stored under `key`; returns the tensor it held. */
  replaceParameter(key: string, tensor: tf.Tensor): tf.Tensor;
}

export function isModule(node: TreeNode): node is Module {
  return !(node instanceof HookPoint);
}

/** `path.name`, or `name` at the root (whose path is empty: `logit_scale`). */
export function childPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** The child module under which `key` is stored. */
function ownerOf(parent: Module, key: string): Module {
  const owner = parent
    .children()
    .filter(isModule)
    .find((c) => key.startsWith(`${c.path}.`));
  if (owner === undefined) throw new Error(`internal: no parameter '${key}' under '${parent.path}'`);
  return owner;
}

/**
 * The base of the model's module classes. A subclass lists the properties holding its own tensors in
 * `ownParameterNames` (`weight`, `bias`, `cls_token`): the property name is the last part of the key, so
 * the listing is all `parameters()` and `replaceParameter` need.
 */
export abstract class ModuleBase implements Module {
  abstract readonly path: string;

  children(): TreeNode[] {
    return [];
  }

  protected ownParameterNames(): readonly string[] {
    return [];
  }

  parameters(): Array<[string, tf.Tensor]> {
    const own = this as unknown as Record<string, tf.Tensor>;
    const mine = this.ownParameterNames().map((n): [string, tf.Tensor] => [childPath(this.path, n), own[n]]);
    return [
      ...mine,
      ...this.children()
        .filter(isModule)
        .flatMap((c) => c.parameters()),
    ];
  }

  replaceParameter(key: string, tensor: tf.Tensor): tf.Tensor {
    const own = this as unknown as Record<string, tf.Tensor>;
    const name = this.ownParameterNames().find((n) => childPath(this.path, n) === key);
    if (name === undefined) return ownerOf(this, key).replaceParameter(key, tensor);
    const old = own[name];
    own[name] = tensor;
    return old;
  }
}

/**
 * PyTorch's nn.ModuleList (`blocks`, `encoder.layer`): an array, so `blocks[3]` and `blocks.slice(4)`
 * read as they do in Python, that is also a tree node. Derived arrays (map, slice) are plain arrays.
 */
export class ModuleList<T extends Module> extends Array<T> implements Module {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }

  constructor(
    readonly path: string,
    items: T[],
  ) {
    super();
    this.push(...items);
  }

  children(): TreeNode[] {
    return [...this];
  }

  parameters(): Array<[string, tf.Tensor]> {
    return this.flatMap((m) => m.parameters());
  }

  replaceParameter(key: string, tensor: tf.Tensor): tf.Tensor {
    return ownerOf(this, key).replaceParameter(key, tensor);
  }
}

/**
 * A module whose forward its parent writes out, holding a weight and maybe a bias: an nn.Embedding table
 * (looked up with `tf.gather` by BertEmbeddings), or the patch Conv2d seen as a matrix (PatchEmbed).
 */
export class ParameterModule<W extends tf.Tensor = tf.Tensor2D> extends ModuleBase {
  readonly weight: W;
  readonly bias: tf.Tensor1D | null;

  constructor(
    readonly path: string,
    weight: W,
    bias: tf.Tensor1D | null,
  ) {
    super();
    this.weight = weight;
    this.bias = bias;
  }

  protected override ownParameterNames(): readonly string[] {
    return this.bias === null ? ['weight'] : ['weight', 'bias'];
  }
}

/** The nodes under `root`, depth-first, each after its children: the order the forward fires their points. */
export function postOrder(root: Module): TreeNode[] {
  return root.children().flatMap((c) => (isModule(c) ? [...postOrder(c), c] : [c]));
}

/**
 * Every hook point `root` and the modules under it publish, in firing order. Which tower a point belongs
 * to is which tower's walk it comes from (`hookPoints(model.visual)`), never a prefix of its name.
 */
export function hookPoints(root: Module): HookPoint[] {
  const own = (n: TreeNode) => (isModule(n) ? (n.point === undefined ? [] : [n.point]) : [n]);
  return [...postOrder(root), root].flatMap(own);
}
