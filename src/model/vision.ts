/**
 * The image tower: timm's ViT-B/16 (pre-norm transformer) as open_clip wraps it for BiomedCLIP.
 * Property paths equal checkpoint keys: `visual.trunk.blocks[3].attn.qkv` holds
 * `visual.trunk.blocks.3.attn.qkv.{weight,bias}`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VisionConfig } from './config.js';
import { attend, declareAttentionPoints, mergeHeads, splitHeads } from './attention.js';
import type { Hooks } from './hooks.js';
import { Gelu, LayerNorm, Linear } from './layers.js';
import { ModuleBase, ModuleList, ParameterModule, type Dim, type HookPoint, type ModuleBuilder, type TreeNode } from './module.js';

/** Tokens per image: one per patch, plus [CLS]. */
export function visionTokens(cfg: VisionConfig): number {
  return (cfg.imageSize / cfg.patchSize) ** 2 + 1;
}

/**
 * Conv2d(3 → W, kernel = stride = P) on non-overlapping patches is one matrix product per patch: flatten
 * each P×P×3 patch in the kernel's (channel, row, column) order and multiply by the kernel seen as a
 * [W, 3·P·P] matrix (the same memory order as [W, 3, P, P]), which the loader hands over laid out like a
 * Linear weight (load.ts).
 */
export class PatchEmbed extends ModuleBase {
  /** weight: the kernel as a matrix, [W, 3·P·P] or [3·P·P, W] per the builder's `matrixLayout`. */
  readonly proj: ParameterModule;
  private readonly outIn: boolean;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    readonly cfg: VisionConfig,
  ) {
    super();
    const [w, p] = [cfg.width, cfg.patchSize];
    const proj = `${path}.proj`;
    this.proj = new ParameterModule(proj, b.matrix(`${proj}.weight`, [w, 3, p, p]), b.param(`${proj}.bias`, [w]) as tf.Tensor1D);
    this.outIn = b.matrixLayout === 'out-in';
    this.point = b.point(path, ['B', visionTokens(cfg) - 1, w]);
  }

  override children(): TreeNode[] {
    return [this.proj];
  }

  /** [B, 3, H, W] pixels -> [B, N, width] patch tokens, row-major: patch (r, c) is token 14r + c. */
  forward(pixels: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const [b, c, h, w] = pixels.shape;
    const p = this.cfg.patchSize;
    const [gh, gw] = [h / p, w / p];
    const grid = tf.reshape(pixels, [b, c, gh, p, gw, p]); // [B, 3, gh, P, gw, P]
    const patches = tf.transpose(grid, [0, 2, 4, 1, 3, 5]); // [B, gh, gw, 3, P, P]
    const flat = tf.reshape(patches, [b * gh * gw, c * p * p]); // [B·N, 3·P·P]
    const width = this.cfg.width;
    const tokens = tf.add(tf.matMul(flat, this.proj.weight, false, this.outIn), this.proj.bias as tf.Tensor1D); // [B·N, W]
    return hooks.fire(this.point, tf.reshape(tokens, [b, gh * gw, width])); // [B, N, W]
  }
}

/** timm Attention: one fused qkv Linear, heads written out, then an output projection. */
export class VitAttention extends ModuleBase {
  readonly qkv: Linear;
  /** Hook-only points (attention.ts): pre-softmax scores, probabilities, per-head context. */
  readonly scores: HookPoint;
  readonly probs: HookPoint;
  readonly context: HookPoint;
  readonly proj: Linear;
  readonly heads: number;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: VisionConfig,
    tokens: Dim[],
  ) {
    super();
    const w = cfg.width;
    this.heads = cfg.heads;
    this.qkv = new Linear(b, `${path}.qkv`, w, 3 * w, tokens);
    ({ scores: this.scores, probs: this.probs, context: this.context } = declareAttentionPoints(b, path, cfg.heads, w / cfg.heads, tokens[1]));
    this.proj = new Linear(b, `${path}.proj`, w, w, tokens);
    this.point = b.point(path, [...tokens, w]);
  }

  override children(): TreeNode[] {
    return [this.qkv, this.scores, this.probs, this.context, this.proj];
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const qkv = this.qkv.forward(x, hooks); // [B, S, 3W]
    // Output feature f of qkv is slot f // W (q, k or v), head (f % W) // D, dimension f % D.
    const [q, k, v] = tf.split(qkv, 3, 2).map((t) => splitHeads(t as tf.Tensor3D, this.heads)); // 3 × [B, H, S, D]
    const scale = 1 / Math.sqrt(q.shape[3]);
    const context = mergeHeads(attend(q, k, v, scale, null, hooks, this)); // [B, S, W]
    return hooks.fire(this.point, this.proj.forward(context, hooks));
  }
}

/** timm Mlp: fc1 (W → 4W), exact GELU, fc2 (4W → W). */
export class VitMlp extends ModuleBase {
  readonly fc1: Linear;
  readonly act: Gelu;
  readonly fc2: Linear;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: VisionConfig,
    tokens: Dim[],
  ) {
    super();
    this.fc1 = new Linear(b, `${path}.fc1`, cfg.width, cfg.mlpWidth, tokens);
    this.act = new Gelu(b, `${path}.act`, [...tokens, cfg.mlpWidth]);
    this.fc2 = new Linear(b, `${path}.fc2`, cfg.mlpWidth, cfg.width, tokens);
    this.point = b.point(path, [...tokens, cfg.width]);
  }

  override children(): TreeNode[] {
    return [this.fc1, this.act, this.fc2];
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    return hooks.fire(this.point, this.fc2.forward(this.act.forward(this.fc1.forward(x, hooks), hooks), hooks));
  }
}

/**
 * Pre-norm residual block: x + attn(norm1(x)), then x + mlp(norm2(x)). The residual stream between the
 * two halves is published as `${path}.resid_mid` (TransformerLens's name for it): what attention wrote.
 */
export class VitBlock extends ModuleBase {
  readonly norm1: LayerNorm;
  readonly attn: VitAttention;
  readonly resid_mid: HookPoint;
  readonly norm2: LayerNorm;
  readonly mlp: VitMlp;
  /** The residual stream after the block. */
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: VisionConfig,
  ) {
    super();
    const tokens: Dim[] = ['B', visionTokens(cfg)];
    this.norm1 = new LayerNorm(b, `${path}.norm1`, cfg.width, cfg.layerNormEps, tokens);
    this.attn = new VitAttention(b, `${path}.attn`, cfg, tokens);
    this.resid_mid = b.point(`${path}.resid_mid`, [...tokens, cfg.width]);
    this.norm2 = new LayerNorm(b, `${path}.norm2`, cfg.width, cfg.layerNormEps, tokens);
    this.mlp = new VitMlp(b, `${path}.mlp`, cfg, tokens);
    this.point = b.point(path, [...tokens, cfg.width]);
  }

  override children(): TreeNode[] {
    return [this.norm1, this.attn, this.resid_mid, this.norm2, this.mlp];
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const attnOut = this.attn.forward(this.norm1.forward(x, hooks), hooks);
    const mid = hooks.fire(this.resid_mid, tf.add(x, attnOut) as tf.Tensor3D);
    const mlpOut = this.mlp.forward(this.norm2.forward(mid, hooks), hooks);
    return hooks.fire(this.point, tf.add(mid, mlpOut) as tf.Tensor3D);
  }
}

/** `visual.trunk`: patch embedding, [CLS] + positions, the blocks, the final LayerNorm. */
export class VisionTransformer extends ModuleBase {
  readonly cls_token: tf.Tensor3D;
  readonly pos_embed: tf.Tensor3D;
  readonly patch_embed: PatchEmbed;
  readonly blocks: ModuleList<VitBlock>;
  readonly norm: LayerNorm;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    readonly cfg: VisionConfig,
  ) {
    super();
    this.cls_token = b.param(`${path}.cls_token`, [1, 1, cfg.width]) as tf.Tensor3D;
    this.pos_embed = b.param(`${path}.pos_embed`, [1, visionTokens(cfg), cfg.width]) as tf.Tensor3D;
    this.patch_embed = new PatchEmbed(b, `${path}.patch_embed`, cfg);
    const blocks = `${path}.blocks`;
    this.blocks = new ModuleList(
      blocks,
      Array.from({ length: cfg.layers }, (_, i) => new VitBlock(b, `${blocks}.${i}`, cfg)),
    );
    this.norm = new LayerNorm(b, `${path}.norm`, cfg.width, cfg.layerNormEps, ['B', visionTokens(cfg)]);
  }

  protected override ownParameterNames(): readonly string[] {
    return ['cls_token', 'pos_embed'];
  }

  override children(): TreeNode[] {
    return [this.patch_embed, this.blocks, this.norm];
  }

  /** [B, 3, H, W] -> [B, 1 + N, W] final-normed tokens. */
  forward(pixels: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    return this.forwardFrom(this.embed(pixels, hooks), 0, hooks);
  }

  /** [B, 3, H, W] -> [B, 1 + N, W]: the residual stream entering block 0. */
  embed(pixels: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const patches = this.patch_embed.forward(pixels, hooks); // [B, N, W]
    const [b, , width] = patches.shape;
    // A learned [CLS] token is prepended; after the blocks it has attended to every patch and serves as
    // the image summary. Then learned absolute position embeddings are added (no dropout at inference).
    const cls = tf.broadcastTo(this.cls_token, [b, 1, width]); // [B, 1, W]
    return tf.add(tf.concat([cls, patches], 1), this.pos_embed) as tf.Tensor3D; // [B, 1 + N, W]
  }

  /**
   * The residual stream entering block `from` ([B, 1 + N, W]) -> [B, 1 + N, W] final-normed tokens:
   * blocks `from`..L-1, then the final norm (`from` = L runs the norm alone).
   */
  forwardFrom(x: tf.Tensor3D, from: number, hooks: Hooks): tf.Tensor3D {
    if (!Number.isInteger(from) || from < 0 || from > this.blocks.length) throw new Error(`forwardFrom: block ${from} is not in 0..${this.blocks.length}`);
    // One tidy per block: a tidy frees its intermediates only when it ends, so one around the whole
    // tower would hold all 12 blocks' (GBs at batch 8), past what the wasm heap can address.
    for (const block of this.blocks.slice(from)) x = tf.tidy(() => block.forward(x, hooks));
    return this.norm.forward(x, hooks);
  }
}

/** `visual`: the trunk, then CLS pooling and the bias-free linear head into the joint embedding space. */
export class VisionTower extends ModuleBase {
  readonly path = 'visual';
  readonly trunk: VisionTransformer;
  readonly head: VisionHead;

  constructor(
    b: ModuleBuilder,
    readonly cfg: VisionConfig,
    embedDim: number,
  ) {
    super();
    this.trunk = new VisionTransformer(b, `${this.path}.trunk`, cfg);
    this.head = new VisionHead(b, `${this.path}.head`, cfg.width, embedDim);
  }

  override children(): TreeNode[] {
    return [this.trunk, this.head];
  }

  /** [B, 3, S, S] normalized pixels -> [B, E] unnormalized image features (`encode_image(normalize=False)`). */
  forward(pixels: tf.Tensor4D, hooks: Hooks): tf.Tensor2D {
    const [, c, h, w] = pixels.shape;
    const s = this.cfg.imageSize;
    if (c !== 3 || h !== s || w !== s) throw new Error(`pixel_values must be [B, 3, ${s}, ${s}], got [${pixels.shape}]`);
    return this.forwardFrom(this.trunk.embed(pixels, hooks), 0, hooks);
  }

  /**
   * The rest of the tower from the residual stream entering block `from` ([B, 1 + N, W], e.g. a captured
   * `blocks[from - 1]` output): blocks `from`..L-1, final norm, [CLS] pooling, head -> [B, E]. What
   * TransformerLens calls `start_at_layer`: a change inside block `from` recomputes nothing before it.
   */
  forwardFrom(x: tf.Tensor3D, from: number, hooks: Hooks): tf.Tensor2D {
    const tokens = this.trunk.forwardFrom(x, from, hooks); // [B, 1 + N, W]
    const cls = tf.squeeze(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, W]: token 0
    return this.head.proj.forward(cls, hooks); // [B, E]
  }
}

/** `visual.head`: open_clip's TimmModel head, here only the bias-free projection into the joint space. */
export class VisionHead extends ModuleBase {
  readonly proj: Linear;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    width: number,
    embedDim: number,
  ) {
    super();
    this.proj = new Linear(b, `${path}.proj`, width, embedDim, ['B'], false);
  }

  override children(): TreeNode[] {
    return [this.proj];
  }
}
