/**
 * BiomedCLIP as one object: `visual`, `text` and `logit_scale`, the three top-level entries of the
 * open_clip state dict. The methods are the open_clip ones (`encode_image`, `encode_text`, logits), taking
 * and returning tensors; the caller owns the results and wraps calls in `tf.tidy` (the public API in
 * `src/api` does). Hooks are optional everywhere.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipConfig } from './config.js';
import { clipLogits } from './head.js';
import { Hooks, NO_HOOKS } from './hooks.js';
import { TextTower } from './text.js';
import { VisionTower } from './vision.js';
import { ModuleBase, type HookPointSpec, type ModuleBuilder, type TreeNode } from './module.js';

export class BiomedCLIPModel extends ModuleBase {
  /** The root of the module tree: its keys have no prefix (`logit_scale`, `visual.…`, `text.…`). */
  readonly path = '';
  readonly logit_scale: tf.Tensor;
  readonly visual: VisionTower;
  readonly text: TextTower;
  /** Every hook point of both towers, in forward order, as the modules declared them. */
  readonly points: readonly HookPointSpec[];

  /** Builds the module tree: from a WeightStore a runnable model, from a SpecRecorder its description. */
  constructor(
    readonly config: ClipConfig,
    private readonly weights: ModuleBuilder,
  ) {
    super();
    this.logit_scale = weights.param('logit_scale', []);
    this.visual = new VisionTower(weights, config.vision, config.embedDim);
    this.text = new TextTower(weights, config.text, config.embedDim);
    this.points = weights.points;
  }

  protected override ownParameterNames(): readonly string[] {
    return ['logit_scale'];
  }

  override children(): TreeNode[] {
    return [this.visual, this.text];
  }

  /** [B, 3, S, S] normalized pixels -> [B, E] unnormalized image features. */
  encodeImage(pixelValues: tf.Tensor4D, hooks: Hooks = NO_HOOKS): tf.Tensor2D {
    return this.visual.forward(pixelValues, hooks);
  }

  /** [N, T] token ids ([PAD] = 0 after the text) -> [N, E] unnormalized text features. */
  encodeText(inputIds: tf.Tensor2D, hooks: Hooks = NO_HOOKS): tf.Tensor2D {
    return this.text.forward(tf.cast(inputIds, 'int32'), hooks);
  }

  /** logits_per_image [B, N] = exp(logit_scale) · normalize(img) · normalize(txt)ᵀ */
  logits(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): tf.Tensor2D {
    return clipLogits(imageFeatures, textFeatures, this.logit_scale);
  }

  /** Total scalar parameters (195,902,721 for the public checkpoint). */
  parameterCount(): number {
    return [...this.weights.params.values()].reduce((n, shape) => n + shape.reduce((a, d) => a * d, 1), 0);
  }

  /** Frees every weight tensor; the model is unusable afterwards. */
  dispose(): void {
    this.weights.dispose();
  }
}
