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
import { ModuleBase, ModuleList, ParameterModule, type Dim, type HookPoint, type ModuleBuilder, type TreeNode } from './module.js';

/** float32's lowest value: HF adds it to the scores of padding keys (not -inf, which could give NaN). */
const FLOAT32_MIN = -3.4028234663852886e38;

/** Text activations are [B, T, ·]: a batch of texts of T tokens each. */
const TOKENS: Dim[] = ['B', 'T'];

/** word[ids] + token_type[0] + position[0..T-1], then LayerNorm (same addition order as HF). */
export class BertEmbeddings extends ModuleBase {
  readonly word_embeddings: ParameterModule;
  readonly position_embeddings: ParameterModule;
  readonly token_type_embeddings: ParameterModule;
  readonly LayerNorm: LayerNorm;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: TextConfig,
  ) {
    super();
    const table = (name: string, rows: number) =>
      new ParameterModule(`${path}.${name}`, b.param(`${path}.${name}.weight`, [rows, cfg.hiddenSize]) as tf.Tensor2D, null);
    this.word_embeddings = table('word_embeddings', cfg.vocabSize);
    this.position_embeddings = table('position_embeddings', cfg.maxPositions);
    this.token_type_embeddings = table('token_type_embeddings', cfg.typeVocabSize);
    this.LayerNorm = new LayerNorm(b, `${path}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps, TOKENS);
    this.point = b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  /** The tables in checkpoint order (the forward reads all three in one sum), then the LayerNorm. */
  override children(): TreeNode[] {
    return [this.word_embeddings, this.position_embeddings, this.token_type_embeddings, this.LayerNorm];
  }

  /** [B, T] int32 ids -> [B, T, W] */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    const t = ids.shape[1];
    const words = tf.gather(this.word_embeddings.weight, ids); // [B, T, W]
    // open_clip passes no token_type_ids: every token is segment 0.
    const segment = tf.slice(this.token_type_embeddings.weight, [0, 0], [1, -1]); // [1, W]
    const positions = tf.slice(this.position_embeddings.weight, [0, 0], [t, -1]); // [T, W]
    const summed = tf.add(tf.add(words, segment), positions) as tf.Tensor3D;
    return hooks.fire(this.point, this.LayerNorm.forward(summed, hooks));
  }
}

/** BERT self-attention: separate query/key/value Linears; the additive mask hides padding keys. */
export class BertSelfAttention extends ModuleBase {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;
  /** Hook-only points (attention.ts): pre-softmax scores, probabilities, per-head context. */
  readonly scores: HookPoint;
  readonly probs: HookPoint;
  readonly context: HookPoint;
  readonly heads: number;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: TextConfig,
  ) {
    super();
    const w = cfg.hiddenSize;
    this.heads = cfg.heads;
    this.query = new Linear(b, `${path}.query`, w, w, TOKENS);
    this.key = new Linear(b, `${path}.key`, w, w, TOKENS);
    this.value = new Linear(b, `${path}.value`, w, w, TOKENS);
    ({ scores: this.scores, probs: this.probs, context: this.context } = declareAttentionPoints(b, path, cfg.heads, w / cfg.heads, 'T'));
    this.point = b.point(path, [...TOKENS, w]);
  }

  override children(): TreeNode[] {
    return [this.query, this.key, this.value, this.scores, this.probs, this.context];
  }

  /** [B, T, W] hidden states, [B, 1, 1, T] additive mask -> [B, T, W] context with the heads merged. */
  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const [q, k, v] = [this.query, this.key, this.value].map((lin) => splitHeads(lin.forward(x, hooks), this.heads)); // [B, H, T, D]
    const scale = 1 / Math.sqrt(q.shape[3]);
    return hooks.fire(this.point, mergeHeads(attend(q, k, v, scale, mask, hooks, this))); // [B, T, W]
  }
}

/**
 * HF's BertSelfOutput (`attention.output`) and BertOutput (`output`) are the same sub-layer ending:
 * LayerNorm(dense(h) + residual). Post-norm: the sum is normalised, unlike the ViT's pre-norm blocks.
 */
export class BertResidualOutput extends ModuleBase {
  readonly dense: Linear;
  readonly LayerNorm: LayerNorm;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    inFeatures: number,
    cfg: TextConfig,
  ) {
    super();
    this.dense = new Linear(b, `${path}.dense`, inFeatures, cfg.hiddenSize, TOKENS);
    this.LayerNorm = new LayerNorm(b, `${path}.LayerNorm`, cfg.hiddenSize, cfg.layerNormEps, TOKENS);
    this.point = b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  override children(): TreeNode[] {
    return [this.dense, this.LayerNorm];
  }

  forward(h: tf.Tensor3D, residual: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    const summed = tf.add(this.dense.forward(h, hooks), residual) as tf.Tensor3D;
    return hooks.fire(this.point, this.LayerNorm.forward(summed, hooks));
  }
}

/** HF's BertAttention: self-attention, then its residual output. */
export class BertAttention extends ModuleBase {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: TextConfig,
  ) {
    super();
    this.self = new BertSelfAttention(b, `${path}.self`, cfg);
    this.output = new BertResidualOutput(b, `${path}.output`, cfg.hiddenSize, cfg);
    this.point = b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  override children(): TreeNode[] {
    return [this.self, this.output];
  }

  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    return hooks.fire(this.point, this.output.forward(this.self.forward(x, mask, hooks), x, hooks));
  }
}

/** HF's BertIntermediate: dense W → 4W, then exact GELU (`intermediate_act_fn`, BERT's hidden_act "gelu"). */
export class BertIntermediate extends ModuleBase {
  readonly dense: Linear;
  readonly intermediate_act_fn: Gelu;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: TextConfig,
  ) {
    super();
    this.dense = new Linear(b, `${path}.dense`, cfg.hiddenSize, cfg.intermediateSize, TOKENS);
    this.intermediate_act_fn = new Gelu(b, `${path}.intermediate_act_fn`, [...TOKENS, cfg.intermediateSize]);
    this.point = b.point(path, [...TOKENS, cfg.intermediateSize]);
  }

  override children(): TreeNode[] {
    return [this.dense, this.intermediate_act_fn];
  }

  forward(x: tf.Tensor3D, hooks: Hooks): tf.Tensor3D {
    return hooks.fire(this.point, this.intermediate_act_fn.forward(this.dense.forward(x, hooks), hooks)); // [B, T, 4W]
  }
}

/** One post-norm BERT layer: h = LayerNorm(x + attn(x)), then LayerNorm(h + ffn(h)). */
export class BertLayer extends ModuleBase {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;
  /** The hidden state after the layer. */
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: TextConfig,
  ) {
    super();
    this.attention = new BertAttention(b, `${path}.attention`, cfg);
    this.intermediate = new BertIntermediate(b, `${path}.intermediate`, cfg);
    this.output = new BertResidualOutput(b, `${path}.output`, cfg.intermediateSize, cfg);
    this.point = b.point(path, [...TOKENS, cfg.hiddenSize]);
  }

  override children(): TreeNode[] {
    return [this.attention, this.intermediate, this.output];
  }

  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const h = this.attention.forward(x, mask, hooks); // [B, T, W]
    return hooks.fire(this.point, this.output.forward(this.intermediate.forward(h, hooks), h, hooks));
  }
}

/** HF's BertEncoder: the list of layers. */
export class BertEncoder extends ModuleBase {
  readonly layer: ModuleList<BertLayer>;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    cfg: TextConfig,
  ) {
    super();
    const layers = `${path}.layer`;
    this.layer = new ModuleList(
      layers,
      Array.from({ length: cfg.layers }, (_, i) => new BertLayer(b, `${layers}.${i}`, cfg)),
    );
  }

  override children(): TreeNode[] {
    return [this.layer];
  }
}

/** `text.transformer`: embeddings and the encoder's layers. */
export class BertModel extends ModuleBase {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    readonly cfg: TextConfig,
  ) {
    super();
    this.embeddings = new BertEmbeddings(b, `${path}.embeddings`, cfg);
    this.encoder = new BertEncoder(b, `${path}.encoder`, cfg);
  }

  override children(): TreeNode[] {
    return [this.embeddings, this.encoder];
  }

  /** [B, T] ids -> [B, T, W] last hidden state. */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    return this.forwardFrom(this.embeddings.forward(ids, hooks), 0, ids, hooks);
  }

  /** The hidden state entering layer `from` ([B, T, W]) of the texts `ids` [B, T] -> [B, T, W] last hidden state. */
  forwardFrom(x: tf.Tensor3D, from: number, ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    const layers = this.encoder.layer;
    if (!Number.isInteger(from) || from < 0 || from > layers.length) throw new Error(`forwardFrom: layer ${from} is not in 0..${layers.length}`);
    const [b, t] = ids.shape;
    const isReal = tf.cast(tf.notEqual(ids, this.cfg.padTokenId), 'float32'); // [B, T]: 1 for tokens, 0 for [PAD]
    const additive = tf.mul(tf.sub(1, isReal), FLOAT32_MIN); // 0 or float32 min
    const mask = tf.reshape(additive, [b, 1, 1, t]) as tf.Tensor4D; // broadcast over heads and queries
    // One tidy per layer, for the same reason as in the ViT: intermediates freed as the forward goes.
    for (const layer of layers.slice(from)) x = tf.tidy(() => layer.forward(x, mask, hooks));
    return x;
  }
}

/** open_clip's "mlp" projection: Sequential(Linear(W → P), GELU, Linear(P → E)), both Linears bias-free. */
export class MlpProjection extends ModuleBase {
  readonly 0: Linear;
  readonly 1: Gelu;
  readonly 2: Linear;
  readonly point: HookPoint;

  constructor(
    b: ModuleBuilder,
    readonly path: string,
    width: number,
    hidden: number,
    embedDim: number,
  ) {
    super();
    this[0] = new Linear(b, `${path}.0`, width, hidden, ['B'], false);
    this[1] = new Gelu(b, `${path}.1`, ['B', hidden]);
    this[2] = new Linear(b, `${path}.2`, hidden, embedDim, ['B'], false);
    this.point = b.point(path, ['B', embedDim]);
  }

  override children(): TreeNode[] {
    return [this[0], this[1], this[2]];
  }

  forward(x: tf.Tensor2D, hooks: Hooks): tf.Tensor2D {
    return hooks.fire(this.point, this[2].forward(this[1].forward(this[0].forward(x, hooks), hooks), hooks)); // [B, E]
  }
}

/** `text`: BERT, CLS pooling, and the MLP projection into the joint embedding space. */
export class TextTower extends ModuleBase {
  readonly path = 'text';
  readonly transformer: BertModel;
  readonly proj: MlpProjection;

  constructor(
    b: ModuleBuilder,
    readonly cfg: TextConfig,
    embedDim: number,
  ) {
    super();
    this.transformer = new BertModel(b, `${this.path}.transformer`, cfg);
    this.proj = new MlpProjection(b, `${this.path}.proj`, cfg.hiddenSize, cfg.projHidden, embedDim);
  }

  override children(): TreeNode[] {
    return [this.transformer, this.proj];
  }

  /** [B, T] int32 ids -> [B, E] unnormalized text features (`encode_text(normalize=False)`). */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor2D {
    const t = ids.shape[1];
    if (t > this.cfg.maxPositions) throw new Error(`input_ids has ${t} tokens; this model has ${this.cfg.maxPositions} positions`);
    return this.forwardFrom(this.transformer.embeddings.forward(ids, hooks), 0, ids, hooks);
  }

  /**
   * The rest of the tower from the hidden state entering layer `from` ([B, T, W], e.g. a captured
   * `layer[from - 1]` output) of the texts `ids` (for the padding mask): layers `from`..L-1, [CLS]
   * pooling, projection -> [B, E].
   */
  forwardFrom(x: tf.Tensor3D, from: number, ids: tf.Tensor2D, hooks: Hooks): tf.Tensor2D {
    const hidden = this.transformer.forwardFrom(x, from, ids, hooks); // [B, T, W]
    // cls_last_hidden_state_pooler: the [CLS] token's final state summarises the text (BERT's pooler unused).
    const cls = tf.squeeze(tf.slice(hidden, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, W]
    return this.proj.forward(cls, hooks); // [B, E]
  }
}
