/**
 * The gradient functions backpropagation through BiomedCLIP needs, registered with tfjs-core ourselves.
 *
 * tfjs-core records every kernel on a tape inside `tf.grad`, but ships no gradient functions: the full
 * `@tensorflow/tfjs` package registers all ~90 of them on import and would drag in layers and converters.
 * The explanation methods differentiate the target only with respect to activations inside the blocks
 * (attention probabilities, a block's norm1), so the backward pass crosses exactly the kernels of the
 * forward pass from there on: Linear, LayerNorm, GELU, attention, the [CLS] slice and the CLIP head.
 * Each rule below is the textbook derivative of one kernel, written with forward ops that every backend
 * has (so it runs on wasm and cpu alike). `test/gradients.test.ts` checks each one against the full
 * package's rules, and the explanation methods are checked end to end against torch autograd.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendPolicy } from '../model/policy.js';

type Grads = Record<string, () => tf.Tensor>;
type GradConfig = Parameters<typeof tf.registerGradient>[0];

/**
 * Broadcasting ops (`a + b` with b [W] and a [B, S, W]) send the gradient of each output element to the
 * input element it was broadcast from: sum over the broadcast axes, then restore the input's shape.
 */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

/** Gradient of a binary elementwise op, given ∂out/∂a and ∂out/∂b as tensors of the output's shape. */
function binary(a: tf.Tensor, b: tf.Tensor, da: () => tf.Tensor, db: () => tf.Tensor): Grads {
  return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
}

/** Reductions (sum, mean) over `axis`: the gradient is dy copied back along the reduced axes. */
function expandReduced(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)); // dy with the reduced axes as size 1
  return tf.broadcastTo(tf.reshape(dy, kept), x.shape);
}

function reducedCount(x: tf.Tensor, axis: number | number[]): number {
  return tf.util.parseAxisParam(axis, x.shape).reduce((n, i) => n * x.shape[i], 1);
}

/**
 * op(x)·op(y) for 2-D x, y with only plain products. tfjs-backend-wasm multiplies only the plain x·y in
 * XNNPACK; a transpose flag sends the product to a scalar loop ~10x slower (docs/performance.md), and every
 * Linear's backward is dy·Wᵀ. So the flags become transposes, of the operands or, through
 * op(x)·op(y) = (op(y)ᵀ·op(x)ᵀ)ᵀ, of the other operands and the result: whichever moves fewer values
 * (for dy·Wᵀ, dy and the result rather than the weight matrix: ~4x fewer at BiomedCLIP's sizes).
 */
function plainMatMul(x: tf.Tensor2D, y: tf.Tensor2D, tx: boolean, ty: boolean): tf.Tensor {
  const direct = (tx ? x.size : 0) + (ty ? y.size : 0);
  const swapped = (tx ? 0 : x.size) + (ty ? 0 : y.size) + (tx ? x.shape[1] : x.shape[0]) * (ty ? y.shape[0] : y.shape[1]);
  if (direct <= swapped) return tf.matMul(tx ? tf.transpose(x) : x, ty ? tf.transpose(y) : y);
  return tf.transpose(tf.matMul(ty ? y : tf.transpose(y), tx ? x : tf.transpose(x)));
}

export const GRADIENTS: GradConfig[] = [
  {
    kernelName: 'Add',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) =>
      binary(
        a,
        b,
        () => dy as tf.Tensor,
        () => dy as tf.Tensor,
      ),
  },
  {
    kernelName: 'Sub',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) =>
      binary(
        a,
        b,
        () => dy as tf.Tensor,
        () => tf.neg(dy as tf.Tensor),
      ),
  },
  {
    kernelName: 'Multiply',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) =>
      binary(
        a,
        b,
        () => tf.mul(dy as tf.Tensor, b),
        () => tf.mul(dy as tf.Tensor, a),
      ),
  },
  {
    // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
    kernelName: 'RealDiv',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) =>
      binary(
        a,
        b,
        () => tf.div(dy as tf.Tensor, b),
        () => tf.neg(tf.div(tf.mul(dy as tf.Tensor, a), tf.square(b))),
      ),
  },
  {
    // The larger input takes the whole gradient; on a tie it goes to a, as in TF.
    kernelName: 'Maximum',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) =>
      binary(
        a,
        b,
        () => tf.mul(dy as tf.Tensor, tf.cast(tf.greaterEqual(a, b), 'float32')),
        () => tf.mul(dy as tf.Tensor, tf.cast(tf.less(a, b), 'float32')),
      ),
  },
  {
    // y = op(a)·op(b) with op = optional transpose of the last two axes. With dy = ∂s/∂y:
    //   y = a b     ->  da = dy bᵀ,   db = aᵀ dy
    //   y = a bᵀ    ->  da = dy b,    db = dyᵀ a
    //   y = aᵀ b    ->  da = b dyᵀ,   db = a dy
    //   y = aᵀ bᵀ   ->  da = bᵀ dyᵀ,  db = dyᵀ aᵀ
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const g = dy as tf.Tensor;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const plain = backendPolicy().plainProductsOnly && a.rank === 2 && b.rank === 2;
      const mm = (x: tf.Tensor, y: tf.Tensor, tx: boolean, ty: boolean) =>
        plain ? plainMatMul(x as tf.Tensor2D, y as tf.Tensor2D, tx, ty) : tf.matMul(x, y, tx, ty);
      const [da, db] = !transposeA
        ? !transposeB
          ? [() => mm(g, b, false, true), () => mm(a, g, true, false)]
          : [() => mm(g, b, false, false), () => mm(g, a, true, false)]
        : !transposeB
          ? [() => mm(b, g, false, true), () => mm(a, g, false, false)]
          : [() => mm(b, g, true, true), () => mm(g, a, true, true)];
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  },
  { kernelName: 'Reshape', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }) },
  {
    // Transposing by perm is undone by transposing by its inverse permutation.
    kernelName: 'Transpose',
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as unknown as { perm: number[] }).perm;
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
    },
  },
  {
    // The pieces' gradients, concatenated back along the split axis (unused pieces arrive as zeros).
    kernelName: 'SplitV',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as tf.Tensor[], (attrs as unknown as { axis: number }).axis) }),
  },
  {
    // stack(x_0..x_n) along an axis: each x_i gets its own slice of dy back (attention's per-head path on wasm).
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => {
      const pieces = tf.unstack(dy as tf.Tensor, (attrs as unknown as { axis: number }).axis);
      return Object.fromEntries(pieces.map((piece, i) => [String(i), () => piece]));
    },
  },
  {
    // unstack, the inverse: the pieces' gradients stacked back (unused pieces arrive as zeros).
    kernelName: 'Unpack',
    gradFunc: (dy, _saved, attrs) => ({ value: () => tf.stack(dy as tf.Tensor[], (attrs as unknown as { axis: number }).axis) }),
  },
  {
    // A slice's gradient is dy placed back where the slice came from, zeros elsewhere.
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as unknown as { begin: number[]; size: number[] };
      const [start, length] = tf.slice_util.parseSliceParams(x, begin, size);
      const paddings = x.shape.map((d, i) => [start[i], d - start[i] - length[i]] as [number, number]);
      return { x: () => tf.pad(dy as tf.Tensor, paddings) };
    },
  },
  {
    // y = softmax(x): ∂s/∂x = y ⊙ (dy − Σ_j dy_j y_j), the sum over the softmax axis.
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dim = (attrs as unknown as { dim: number }).dim;
      const g = dy as tf.Tensor;
      return { logits: () => tf.mul(y, tf.sub(g, tf.sum(tf.mul(g, y), dim, true))) };
    },
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({ x: () => expandReduced(dy as tf.Tensor, x, (attrs as unknown as { axis: number[] }).axis) }),
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axis = (attrs as unknown as { axis: number[] }).axis;
      return { x: () => tf.div(expandReduced(dy as tf.Tensor, x, axis), reducedCount(x, axis)) };
    },
  },
  { kernelName: 'Square', inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 2)) }) },
  {
    // d√x/dx = 1 / (2√x), from the saved output.
    kernelName: 'Sqrt',
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.div(dy as tf.Tensor, tf.mul(y, 2)) }),
  },
  {
    // d(x^-½)/dx = −½ x^-3/2 = −½ · rsqrt(x) / x (LayerNorm's 1/√(var + eps)).
    kernelName: 'Rsqrt',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.div(tf.rsqrt(x), x), -0.5)) }),
  },
  {
    // d erf(x)/dx = 2/√π · exp(−x²) (GELU's only transcendental).
    kernelName: 'Erf',
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI))) }),
  },
];

/**
 * Registers the rules above, except for kernels that already have one (an app that imports the full
 * `@tensorflow/tfjs` keeps its own: same mathematics, and no override warnings). Idempotent.
 */
export function registerGradients(): void {
  for (const config of GRADIENTS) {
    if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
  }
}
