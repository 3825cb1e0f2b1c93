/**
 * LeGrad (Bousselham et al. 2024, "LeGrad: An Explainability Method for Vision Transformers via Feature
 * Formation Sensitivity"), adapted to BiomedCLIP's [CLS]-pooled timm trunk.
 *
 * For each layer l from the start layer on, read the residual stream after block l as an image embedding
 * e_l (the logit lens: pool, visual.trunk.norm, visual.head.proj), score it s_l = cos(e_l, text), and take
 * ∂s_l/∂A_l for that layer's attention probabilities only. The layer's map is mean over heads and query
 * tokens of max(0, ∂s_l/∂A_l) at the patch keys; the method's map is the sum over layers.
 *
 * The adaptation: LeGrad's open_clip code pools each layer by the token mean before ln_post and proj (its
 * timm branch assumes an attention-pooling head, which BiomedCLIP does not have). BiomedCLIP's trunk
 * pools [CLS], so `pool: 'cls'` (the default) reads each layer the way the model reads its last one;
 * `pool: 'mean'` reproduces LeGrad's open_clip recipe. Default start layer L − 2, as LeGrad's
 * `layer_index=-2`. The map is returned raw (LeGrad min-max normalises it for display).
 *
 * All layers come from one forward and one backward pass: after block l the residual stream passes a node
 * whose gradient is zero (`detach`), so ∂(Σ_l s_l)/∂A_l is ∂s_l/∂A_l alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from '../model/clip.js';
import { l2Normalize } from '../model/head.js';
import { Hooks } from '../model/hooks.js';
import { registerGradients } from './gradients.js';
import { lensFeatures, type Pool } from './lens.js';
import { legradLayer } from './maps.js';
import { pointShape, type PairInputs } from './probe.js';

export interface LegradOptions {
  /** First layer summed (default: layers − 2). */
  startLayer?: number;
  pool?: Pool;
}

/**
 * x's values with a zero gradient: nothing flows back through here, as through a detached copy. It used to
 * be one (`tf.tensor(x.dataSync())`), but a hook runs synchronously inside the forward pass, and webgpu
 * cannot read a tensor synchronously ("OffscreenCanvas is not defined" in Node). A custom gradient needs no
 * read: the ops inside it are not recorded on the tape, and its own rule returns zeros.
 */
const detach = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as Parameters<
  typeof tf.customGrad
>[0]) as (x: tf.Tensor) => tf.Tensor;

/** Returns the LeGrad map (one value per patch) and the pair's logit. */
export async function legrad(model: BiomedCLIPModel, inputs: PairInputs, opts: LegradOptions = {}): Promise<{ imageMap: Float32Array; logit: number }> {
  registerGradients();
  const layers = model.config.vision.layers;
  const picked = [...Array(layers).keys()].filter((l) => l >= (opts.startLayer ?? layers - 2));
  const blocks = model.visual.trunk.blocks;
  const deltas = picked.map((l) => tf.zeros(pointShape(model.config, blocks[l].attn.probs.name, 0)));
  const textFeatures = tf.tidy(() => model.encodeText(inputs.ids));
  const text = tf.tidy(() => l2Normalize(textFeatures));
  const kept: tf.Tensor[] = [];
  let logit: tf.Tensor | undefined;
  const run = (...ds: tf.Tensor[]): tf.Scalar => {
    const edits = picked.flatMap((l, i) => [
      { pattern: blocks[l].attn.probs.name, fn: (a: tf.Tensor) => tf.add(a, ds[i]) },
      {
        pattern: blocks[l].point.name,
        fn: (x: tf.Tensor) => {
          const reading = l2Normalize(lensFeatures(model, x as tf.Tensor3D, opts.pool)); // [1, E]
          kept.push(tf.keep(tf.sum(tf.mul(reading, text)))); // s_l; kept past the block's tidy
          return l < layers - 1 ? detach(x) : undefined;
        },
      },
    ]);
    const image = model.encodeImage(inputs.pixels, new Hooks({ edits }));
    logit = tf.keep(tf.reshape(model.logits(image, textFeatures), []));
    return kept.reduce((a, b) => tf.add(a, b)) as tf.Scalar;
  };
  try {
    const { value, grads } = tf.valueAndGrads(run)(deltas);
    const maps = await Promise.all(grads.map(async (g) => legradLayer({ shape: g.shape, data: (await g.data()) as Float32Array })));
    tf.dispose([value, ...grads]);
    const imageMap = new Float32Array(maps[0].length);
    for (const m of maps) m.forEach((v, j) => (imageMap[j] += v));
    return { imageMap, logit: (await logit!.data())[0] };
  } finally {
    tf.dispose([...deltas, ...kept, textFeatures, text, ...(logit ? [logit] : [])]);
  }
}
