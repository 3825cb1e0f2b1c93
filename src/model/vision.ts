/**
 * The image tower: timm's ViT-B/16 (pre-norm transformer) as open_clip wraps it for BiomedCLIP.
 * Property paths equal checkpoint keys: `visual.trunk.blocks[3].attn.qkv` holds
 * `visual.trunk.blocks.3.attn.qkv.{weight,bias}`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { VisionConfig } from './config.js';
import { attend, mergeHeads, splitHeads } from './attention.js';
import type { Hooks } from './hooks.js';
import { LayerNorm, Linear, gelu } from './layers.js';
import type { WeightStore } from './weights.js';

/**
 * Conv2d(3 → W, kernel = stride = P) on non-overlapping patches is one matrix product per patch: flatten
 * each P×P×3 patch in the kernel's (channel, row, column) order and multiply by the kernel reshaped to
 * [W, 3·P·P]. The reshape of the [W, 3, P, P] weight is a view of the same memory order, not a re-layout.
 */
export class PatchEmbed {
  readonly proj: { weight: tf.Tensor4D; bias: tf.Tensor1D };

  constructor(w: WeightStore, readonly path: string, readonly patchSize: number) {
    this.proj = { weight: w.take(`${path}.proj.weight`) as tf.Tensor4D, bias: w.take(`${path}.proj.bias`) as tf.Tensor1D };
  }

  /** [B, 3, H, W] pixels -> [B, N, width] patch tokens, row-major: patch (r, c) is token 14r + c. */
  forward(pixels: tf.Tensor4D): tf.Tensor3D {
    const [b, c, h, w] = pixels.shape;
    const p = this.patchSize;
    const [gh, gw] = [h / p, w / p];
    const grid = tf.reshape(pixels, [b, c, gh, p, gw, p]); // [B, 3, gh, P, gw, P]
    const patches = tf.transpose(grid, [0, 2, 4, 1, 3, 5]); // [B, gh, gw, 3, P, P]
    const flat = tf.reshape(patches, [b, gh * gw, c * p * p]); // [B, N, 3·P·P]
    const width = this.proj.weight.shape[0];
    const kernel = tf.reshape(this.proj.weight, [width, c * p * p]); // [W, 3, P, P] -> [W, 3·P·P]
    const tokens = tf.matMul(tf.reshape(flat, [b * gh * gw, c * p * p]), kernel, false, true); // [B·N, W]
    return tf.reshape(tf.add(tokens, this.proj.bias), [b, gh * gw, width]); // [B, N, W]
  }
}

/** timm Attention: one fused qkv Linear, heads written out, then an output projection. */
export class VitAttention {
  readonly qkv: Linear;
  readonly proj: Linear;

  constructor(w: WeightStore, readonly path: string, readonly heads: number) {
    this.qkv = new Linear(w, `${path}.qkv`);
    this.proj = new Linear(w, `${path}.proj`);
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const qkv = hooks.point(`${this.path}.qkv`, this.qkv.forward(x)); // [B, S, 3W]
    // Output feature f of qkv is slot f // W (q, k or v), head (f % W) // D, dimension f % D.
    const [q, k, v] = tf.split(qkv, 3, 2).map((t) => splitHeads(t as tf.Tensor3D, this.heads)); // 3 × [B, H, S, D]
    const scale = 1 / Math.sqrt(q.shape[3]);
    const context = mergeHeads(attend(q, k, v, scale, null, hooks, this.path)); // [B, S, W]
    return hooks.point(`${this.path}.proj`, this.proj.forward(context));
  }
}

/** timm Mlp: fc1 (W → 4W), exact GELU, fc2 (4W → W). */
export class VitMlp {
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(w: WeightStore, readonly path: string) {
    this.fc1 = new Linear(w, `${path}.fc1`);
    this.fc2 = new Linear(w, `${path}.fc2`);
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const h = hooks.point(`${this.path}.fc1`, this.fc1.forward(x));
    const a = hooks.point(`${this.path}.act`, gelu(h));
    return hooks.point(`${this.path}.fc2`, this.fc2.forward(a));
  }
}

/** Pre-norm residual block: x + attn(norm1(x)), then x + mlp(norm2(x)). */
export class VitBlock {
  readonly norm1: LayerNorm;
  readonly attn: VitAttention;
  readonly norm2: LayerNorm;
  readonly mlp: VitMlp;

  constructor(w: WeightStore, readonly path: string, cfg: VisionConfig) {
    this.norm1 = new LayerNorm(w, `${path}.norm1`, cfg.layerNormEps);
    this.attn = new VitAttention(w, `${path}.attn`, cfg.heads);
    this.norm2 = new LayerNorm(w, `${path}.norm2`, cfg.layerNormEps);
    this.mlp = new VitMlp(w, `${path}.mlp`);
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const n1 = hooks.point(`${this.path}.norm1`, this.norm1.forward(x));
    const afterAttn = tf.add(x, this.attn.forward(n1, hooks)) as tf.Tensor3D;
    const n2 = hooks.point(`${this.path}.norm2`, this.norm2.forward(afterAttn));
    return hooks.point(this.path, tf.add(afterAttn, this.mlp.forward(n2, hooks)));
  }
}

/** `visual.trunk`: patch embedding, [CLS] + positions, the blocks, the final LayerNorm. */
export class VisionTransformer {
  readonly cls_token: tf.Tensor3D;
  readonly pos_embed: tf.Tensor3D;
  readonly patch_embed: PatchEmbed;
  readonly blocks: VitBlock[];
  readonly norm: LayerNorm;

  constructor(w: WeightStore, readonly path: string, readonly cfg: VisionConfig) {
    this.cls_token = w.take(`${path}.cls_token`) as tf.Tensor3D;
    this.pos_embed = w.take(`${path}.pos_embed`) as tf.Tensor3D;
    this.patch_embed = new PatchEmbed(w, `${path}.patch_embed`, cfg.patchSize);
    this.blocks = Array.from({ length: cfg.layers }, (_, i) => new VitBlock(w, `${path}.blocks.${i}`, cfg));
    this.norm = new LayerNorm(w, `${path}.norm`, cfg.layerNormEps);
  }

  /** [B, 3, H, W] -> [B, 1 + N, W] final-normed tokens. */
  forward(pixels: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const patches = hooks.point(`${this.path}.patch_embed`, this.patch_embed.forward(pixels)); // [B, N, W]
    const [b, , width] = patches.shape;
    // A learned [CLS] token is prepended; after the blocks it has attended to every patch and serves as
    // the image summary. Then learned absolute position embeddings are added (no dropout at inference).
    const cls = tf.broadcastTo(this.cls_token, [b, 1, width]); // [B, 1, W]
    let x = tf.add(tf.concat([cls, patches], 1), this.pos_embed) as tf.Tensor3D; // [B, 1 + N, W]
    // One tidy per block: a tidy frees its intermediates only when it ends, so one around the whole
    // tower would hold all 12 blocks' (GBs at batch 8), past what the wasm heap can address.
    for (const block of this.blocks) x = tf.tidy(() => block.forward(x, hooks));
    return hooks.point(`${this.path}.norm`, this.norm.forward(x));
  }
}

/** `visual`: the trunk, then CLS pooling and the bias-free linear head into the joint embedding space. */
export class VisionTower {
  readonly trunk: VisionTransformer;
  readonly head: { proj: Linear };

  constructor(w: WeightStore, readonly cfg: VisionConfig) {
    this.trunk = new VisionTransformer(w, 'visual.trunk', cfg);
    this.head = { proj: new Linear(w, 'visual.head.proj', false) };
  }

  /** [B, 3, S, S] normalized pixels -> [B, E] unnormalized image features (`encode_image(normalize=False)`). */
  forward(pixels: tf.Tensor4D, hooks: Hooks): tf.Tensor2D {
    const [, c, h, w] = pixels.shape;
    const s = this.cfg.imageSize;
    if (c !== 3 || h !== s || w !== s) throw new Error(`pixel_values must be [B, 3, ${s}, ${s}], got [${pixels.shape}]`);
    const tokens = this.trunk.forward(pixels, hooks); // [B, 1 + N, W]
    const cls = tf.squeeze(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, W]: token 0
    return hooks.point('visual.head.proj', this.head.proj.forward(cls)); // [B, E]
  }
}
