/**
 * The text tower: HF BertModel (post-norm transformer, PubMedBERT weights) as open_clip wraps it for
 * BiomedCLIP, with CLS pooling of the last hidden state and a 2-layer MLP projection. No BERT pooler.
 * Property paths equal checkpoint keys: `text.transformer.encoder.layer[0].attention.self.query`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TextConfig } from './config.js';
import { attend, mergeHeads, splitHeads } from './attention.js';
import type { Hooks } from './hooks.js';
import { LayerNorm, Linear, gelu } from './layers.js';
import type { WeightStore } from './weights.js';

/** [PAD]'s id in the BiomedBERT vocab; open_clip builds the attention mask as `ids != pad_id`. */
export const PAD_ID = 0;

/** float32's lowest value: HF adds it to the scores of padding keys (not -inf, which could give NaN). */
const FLOAT32_MIN = -3.4028234663852886e38;

/** word[ids] + token_type[0] + position[0..T-1], then LayerNorm (same addition order as HF). */
export class BertEmbeddings {
  readonly word_embeddings: { weight: tf.Tensor2D };
  readonly position_embeddings: { weight: tf.Tensor2D };
  readonly token_type_embeddings: { weight: tf.Tensor2D };
  readonly LayerNorm: LayerNorm;

  constructor(w: WeightStore, readonly path: string, cfg: TextConfig) {
    const table = (name: string) => ({ weight: w.take(`${path}.${name}.weight`) as tf.Tensor2D });
    this.word_embeddings = table('word_embeddings');
    this.position_embeddings = table('position_embeddings');
    this.token_type_embeddings = table('token_type_embeddings');
    this.LayerNorm = new LayerNorm(w, `${path}.LayerNorm`, cfg.layerNormEps);
  }

  /** [B, T] int32 ids -> [B, T, W] */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    const t = ids.shape[1];
    const words = tf.gather(this.word_embeddings.weight, ids); // [B, T, W]
    // open_clip passes no token_type_ids: every token is segment 0.
    const segment = tf.slice(this.token_type_embeddings.weight, [0, 0], [1, -1]); // [1, W]
    const positions = tf.slice(this.position_embeddings.weight, [0, 0], [t, -1]); // [T, W]
    const summed = tf.add(tf.add(words, segment), positions) as tf.Tensor3D;
    return hooks.point(this.path, this.LayerNorm.forward(summed));
  }
}

/** BERT self-attention: separate query/key/value Linears; the additive mask hides padding keys. */
export class BertSelfAttention {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;

  constructor(w: WeightStore, readonly path: string, readonly heads: number) {
    this.query = new Linear(w, `${path}.query`);
    this.key = new Linear(w, `${path}.key`);
    this.value = new Linear(w, `${path}.value`);
  }

  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const project = (lin: Linear, name: string) =>
      splitHeads(hooks.point(`${this.path}.${name}`, lin.forward(x)), this.heads); // [B, H, T, D]
    const [q, k, v] = [project(this.query, 'query'), project(this.key, 'key'), project(this.value, 'value')];
    const scale = 1 / Math.sqrt(q.shape[3]);
    return hooks.point(this.path, mergeHeads(attend(q, k, v, scale, mask, hooks, this.path))); // [B, T, W]
  }
}

/** One post-norm BERT layer: LayerNorm(x + attn(x)), then LayerNorm(h + ffn(h)). */
export class BertLayer {
  readonly attention: { self: BertSelfAttention; output: { dense: Linear; LayerNorm: LayerNorm } };
  readonly intermediate: { dense: Linear };
  readonly output: { dense: Linear; LayerNorm: LayerNorm };

  constructor(w: WeightStore, readonly path: string, cfg: TextConfig) {
    const block = (p: string) => ({ dense: new Linear(w, `${p}.dense`), LayerNorm: new LayerNorm(w, `${p}.LayerNorm`, cfg.layerNormEps) });
    this.attention = { self: new BertSelfAttention(w, `${path}.attention.self`, cfg.heads), output: block(`${path}.attention.output`) };
    this.intermediate = { dense: new Linear(w, `${path}.intermediate.dense`) };
    this.output = block(`${path}.output`);
  }

  forward(x: tf.Tensor3D, mask: tf.Tensor4D, hooks: Hooks): tf.Tensor3D {
    const p = this.path;
    const context = this.attention.self.forward(x, mask, hooks);
    const attnDense = hooks.point(`${p}.attention.output.dense`, this.attention.output.dense.forward(context));
    const h = hooks.point(`${p}.attention.output`, this.attention.output.LayerNorm.forward(tf.add(attnDense, x) as tf.Tensor3D));
    const up = hooks.point(`${p}.intermediate.dense`, this.intermediate.dense.forward(h)); // [B, T, 4W]
    const act = hooks.point(`${p}.intermediate`, gelu(up));
    const down = hooks.point(`${p}.output.dense`, this.output.dense.forward(act)); // [B, T, W]
    return hooks.point(p, this.output.LayerNorm.forward(tf.add(down, h) as tf.Tensor3D));
  }
}

/** `text.transformer`: embeddings and the encoder's layers. */
export class BertModel {
  readonly embeddings: BertEmbeddings;
  readonly encoder: { layer: BertLayer[] };

  constructor(w: WeightStore, readonly path: string, cfg: TextConfig) {
    this.embeddings = new BertEmbeddings(w, `${path}.embeddings`, cfg);
    this.encoder = { layer: Array.from({ length: cfg.layers }, (_, i) => new BertLayer(w, `${path}.encoder.layer.${i}`, cfg)) };
  }

  /** [B, T] ids -> [B, T, W] last hidden state. */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor3D {
    const [b, t] = ids.shape;
    const isReal = tf.cast(tf.notEqual(ids, PAD_ID), 'float32'); // [B, T]: 1 for tokens, 0 for [PAD]
    const additive = tf.mul(tf.sub(1, isReal), FLOAT32_MIN); // 0 or float32 min
    const mask = tf.reshape(additive, [b, 1, 1, t]) as tf.Tensor4D; // broadcast over heads and queries
    let x = this.embeddings.forward(ids, hooks);
    // One tidy per layer, for the same reason as in the ViT: intermediates freed as the forward goes.
    for (const layer of this.encoder.layer) x = tf.tidy(() => layer.forward(x, mask, hooks));
    return x;
  }
}

/** `text`: BERT, CLS pooling, and the MLP projection `proj` = Sequential(Linear, GELU, Linear). */
export class TextTower {
  readonly transformer: BertModel;
  readonly proj: { 0: Linear; 2: Linear };

  constructor(w: WeightStore, readonly cfg: TextConfig) {
    this.transformer = new BertModel(w, 'text.transformer', cfg);
    this.proj = { 0: new Linear(w, 'text.proj.0', false), 2: new Linear(w, 'text.proj.2', false) };
  }

  /** [B, T] int32 ids -> [B, E] unnormalized text features (`encode_text(normalize=False)`). */
  forward(ids: tf.Tensor2D, hooks: Hooks): tf.Tensor2D {
    const t = ids.shape[1];
    if (t > this.cfg.maxPositions) throw new Error(`input_ids has ${t} tokens; this model has ${this.cfg.maxPositions} positions`);
    const hidden = this.transformer.forward(ids, hooks); // [B, T, W]
    // cls_last_hidden_state_pooler: the [CLS] token's final state summarises the text (BERT's pooler unused).
    const cls = tf.squeeze(tf.slice(hidden, [0, 0, 0], [-1, 1, -1]), [1]) as tf.Tensor2D; // [B, W]
    const h = hooks.point('text.proj.0', this.proj[0].forward(cls)); // [B, P]
    const a = hooks.point('text.proj.1', gelu(h));
    return hooks.point('text.proj', this.proj[2].forward(a)); // [B, E]
  }
}
