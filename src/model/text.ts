/**
 * The text tower: HF BertModel (post-norm transformer, PubMedBERT weights) as open_clip wraps it for
 * BiomedCLIP, with CLS pooling of the last hidden state and a 2-layer MLP projection. No BERT pooler.
 * The classes are HF's modules (BertSelfAttention, BertSelfOutput, BertAttention, BertIntermediate,
 * BertOutput, BertLayer), so property paths equal checkpoint keys and hook names equal the PyTorch module
 * paths: `text.transformer.encoder.layer[0].attention.self.query`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TextConfig } from './config.js';
import { attend, declareAttentionPoints, mergeHeads, splitHeads } from './attention.js';
import type { Hooks } from './hooks.js';
import { Gelu, LayerNorm, Linear } from './layers.js';
import type { Dim, ModuleBuilder } from './module.js';

/** float32's lowest value: HF adds it to the scores of padding keys (not -inf, which could give NaN). */
const FLOAT32_MIN = -3.4028234663852886e38;

/** Text activations are [B, T, ·]: a batch of texts of T tokens each. */
const TOKENS: Dim[] = ['B', 'T'];

/** word[ids] + token_type[0] + position[0..T-1], then LayerNorm (same addition order as HF). */
export class BertEmbeddings {
  readonly word_embeddings: { weight: tf.Tensor2D };
  readonly position_embeddings: { weight: tf.Tensor2D };
  readonly token_type_embeddings: { weight: tf.Tensor2D };
  readonly LayerNorm: LayerNorm;

  constructor(b: ModuleBuilder, readonly path: string, cfg: TextConfig) {
    const table = (name: string, rows: number) => ({ weight: b.param(`${path}.${name}.weight`, [rows, cfg.hiddenSize]) as tf.Tensor2D });
    this.word_embeddings = table('word_embeddings', cfg.vocabSize);
    this.position_embeddings = table('position_embeddings', cfg.maxPositions);
    this.token_type_embeddings = table('token_type_embeddings', cfg.typeVocabSize);
    this.LayerNorm = new LayerNorm(b, `${path}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps, TOKENS);
    b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  /** [B, T] int32 ids -> [B, T, W] */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    const t = ids.shape[1];
    const words = tf.gather(this.word_embeddings.weight, ids); // [B, T, W]
    // open_clip passes no token_type_ids: every token is segment 0.
    const segment = tf.slice(this.token_type_embeddings.weight, [0, 0], [1, -1]); // [1, W]
    const positions = tf.slice(this.position_embeddings.weight, [0, 0], [t, -1]); // [T, W]
    const summed = tf.add(tf.add(words, segment), positions) as tf.Tensor3D;
    return hooks.point(this.path, this.LayerNorm.forward(summed, hooks));
  }
}

/** BERT self-attention: separate query/key/value Linears; the additive mask hides padding keys. */
export class BertSelfAttention {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  readonly heads: number;

  constructor(b: ModuleBuilder, readonly path: string, cfg: TextConfig) {
    const w = cfg.hiddenSize;
    this.heads = cfg.heads;
    this.query = new Linear(b, `${path}.query`, w, w, TOKENS);
    this.key = new Linear(b, `${path}.key`, w, w, TOKENS);
    this.value = new Linear(b, `${path}.value`, w, w, TOKENS);
    declareAttentionPoints(b, path, cfg.heads, w / cfg.heads, 'T');
    b.point(path, [...TOKENS, w]);
  }

  /** [B, T, W] hidden states, [B, 1, 1, T] additive mask -> [B, T, W] context with the heads merged. */
  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const [q, k, v] = [this.query, this.key, this.value].map((lin) => splitHeads(lin.forward(x, hooks), this.heads)); // [B, H, T, D]
    const scale = 1 / Math.sqrt(q.shape[3]);
    return hooks.point(this.path, mergeHeads(attend(q, k, v, scale, mask, hooks, this.path))); // [B, T, W]
  }
}

/**
 * HF's BertSelfOutput (`attention.output`) and BertOutput (`output`) are the same sub-layer ending:
 * LayerNorm(dense(h) + residual). Post-norm: the sum is normalised, unlike the ViT's pre-norm blocks.
 */
export class BertResidualOutput {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;

  constructor(b: ModuleBuilder, readonly path: string, inFeatures: number, cfg: TextConfig) {
    this.dense = new Linear(b, `${path}.dense`, inFeatures, cfg.hiddenSize, TOKENS);
    this.LayerNorm = new LayerNorm(b, `${path}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps, TOKENS);
    b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  forward(h: tf.Tensor3D, residual: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const summed = tf.add(this.dense.forward(h, hooks), residual) as tf.Tensor3D;
    return hooks.point(this.path, this.LayerNorm.forward(summed, hooks));
  }
}

/** HF's BertAttention: self-attention, then its residual output. */
export class BertAttention {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(b: ModuleBuilder, readonly path: string, cfg: TextConfig) {
    this.self = new BertSelfAttention(b, `${path}.self`, cfg);
    this.output = new BertResidualOutput(b, `${path}.output`, cfg.hiddenSize, cfg);
    b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    return hooks.point(this.path, this.output.forward(this.self.forward(x, mask, hooks), x, hooks));
  }
}

/** HF's BertIntermediate: dense W → 4W, then exact GELU (`intermediate_act_fn`, BERT's hidden_act "gelu"). */
export class BertIntermediate {
  readonly dense: Linear;
  readonly intermediate_act_fn: Gelu;

  constructor(b: ModuleBuilder, readonly path: string, cfg: TextConfig) {
    this.dense = new Linear(b, `${path}.dense`, cfg.hiddenSize, cfg.intermediateSize, TOKENS);
    this.intermediate_act_fn = new Gelu(b, `${path}.intermediate_act_fn`, [...TOKENS, cfg.intermediateSize]);
    b.point(path, [...TOKENS, cfg.intermediateSize]);
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    return hooks.point(this.path, this.intermediate_act_fn.forward(this.dense.forward(x, hooks), hooks)); // [B, T, 4W]
  }
}

/** One post-norm BERT layer: h = LayerNorm(x + attn(x)), then LayerNorm(h + ffn(h)). */
export class BertLayer {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(b: ModuleBuilder, readonly path: string, cfg: TextConfig) {
    this.attention = new BertAttention(b, `${path}.attention`, cfg);
    this.intermediate = new BertIntermediate(b, `${path}.intermediate`, cfg);
    this.output = new BertResidualOutput(b, `${path}.output`, cfg.intermediateSize, cfg);
    b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const h = this.attention.forward(x, mask, hooks); // [B, T, W]
    return hooks.point(this.path, this.output.forward(this.intermediate.forward(h, hooks), h, hooks));
  }
}

/** `text.transformer`: embeddings and the encoder's layers. */
export class BertModel {
  readonly embeddings: BertEmbeddings;
  readonly encoder: { layer: BertLayer[] };

  constructor(b: ModuleBuilder, readonly path: string, readonly cfg: TextConfig) {
    this.embeddings = new BertEmbeddings(b, `${path}.embeddings`, cfg);
    this.encoder = { layer: Array.from({ length: cfg.layers }, (_, i) => new BertLayer(b, `${path}.encoder.layer.${i}`, cfg)) };
  }

  /** [B, T] ids -> [B, T, W] last hidden state. */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    const [b, t] = ids.shape;
    const isReal = tf.cast(tf.notEqual(ids, this.cfg.padTokenId), 'float32'); // [B, T]: 1 for tokens, 0 for [PAD]
    const additive = tf.mul(tf.sub(1, isReal), FLOAT32_MIN); // 0 or float32 min
    const mask = tf.reshape(additive, [b, 1, 1, t]) as tf.Tensor4D; // broadcast over heads and queries
    let x = this.embeddings.forward(ids, hooks);
    // One tidy per layer, for the same reason as in the ViT: intermediates freed as the forward goes.
    for (const layer of this.encoder.layer) x = tf.tidy(() => layer.forward(x, mask, hooks));
    return x;
  }
}

/** open_clip's "mlp" projection: Sequential(Linear(W → P), GELU, Linear(P → E)), both Linears bias-free. */
export class MlpProjection {
  readonly 0: Linear;
  readonly 1: Gelu;
  readonly 2: Linear;

  constructor(b: ModuleBuilder, readonly path: string, width: number, hidden: number, embedDim: number) {
    this[0] = new Linear(b, `${path}.0`, width, hidden, ['B'], false);
    this[1] = new Gelu(b, `${path}.1`, ['B', hidden]);
    this[2] = new Linear(b, `${path}.2`, hidden, embedDim, ['B'], false);
    b.point(path, ['B', embedDim]);
  }

  forward(x: tf.Tensor2D, hooks: Hooks): tf.Tensor2D {
    return hooks.point(this.path, this[2].forward(this[1].forward(this[0].forward(x, hooks), hooks), hooks)); // [B, E]
  }
}

/** `text`: BERT, CLS pooling, and the MLP projection into the joint embedding space. */
export class TextTower {
  readonly transformer: BertModel;
  readonly proj: MlpProjection;

  constructor(b: ModuleBuilder, readonly cfg: TextConfig, embedDim: number) {
    this.transformer = new BertModel(b, 'text.transformer', cfg);
    this.proj = new MlpProjection(b, 'text.proj', cfg.hiddenSize, cfg.projHidden, embedDim);
  }

  /** [B, T] int32 ids -> [B, E] unnormalized text features (`encode_text(normalize=False)`). */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor2D {
    const t = ids.shape[1];
    if (t > this.cfg.maxPositions) throw new Error(`input_ids has ${t} tokens; this model has ${this.cfg.maxPositions} positions`);
    const hidden = this.transformer.forward(ids, hooks); // [B, T, W]
    // cls_last_hidden_state_pooler: the [CLS] token's final state summarises the text (BERT's pooler unused).
    const cls = tf.squeeze(tf.slice(hidden, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, W]
    return this.proj.forward(cls, hooks); // [B, E]
  }
}
