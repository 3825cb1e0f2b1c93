/**
 * The checkpoint's key → shape table, derived from the config. Strict loading and `convert` check every
 * tensor against it, so a wrong file fails with the key's name instead of a shape error deep in a matmul.
 * Shapes are PyTorch's: Linear weights are [out, in], the patch Conv2d is [out, in, kh, kw].
 */
import type { ClipConfig } from './config.js';

/**
 * Tensors found in real checkpoints that the forward pass never reads: HF's `position_ids` buffer (it
 * equals arange(512)) and the BERT pooler, which open_clip replaces by its own CLS pooling + projection.
 */
export const KNOWN_UNUSED: RegExp[] = [
  /^text\.transformer\.embeddings\.position_ids$/,
  /^text\.transformer\.pooler\./,
];

export function isKnownUnused(key: string): boolean {
  return KNOWN_UNUSED.some((re) => re.test(key));
}

function linear(out: Map<string, number[]>, prefix: string, outF: number, inF: number, bias = true): void {
  out.set(`${prefix}.weight`, [outF, inF]);
  if (bias) out.set(`${prefix}.bias`, [outF]);
}

function layerNorm(out: Map<string, number[]>, prefix: string, width: number): void {
  out.set(`${prefix}.weight`, [width]);
  out.set(`${prefix}.bias`, [width]);
}

function visionKeys(out: Map<string, number[]>, cfg: ClipConfig): void {
  const v = cfg.vision;
  const grid = v.imageSize / v.patchSize;
  out.set('visual.trunk.cls_token', [1, 1, v.width]);
  out.set('visual.trunk.pos_embed', [1, grid * grid + 1, v.width]);
  out.set('visual.trunk.patch_embed.proj.weight', [v.width, 3, v.patchSize, v.patchSize]);
  out.set('visual.trunk.patch_embed.proj.bias', [v.width]);
  for (let i = 0; i < v.layers; i++) {
    const b = `visual.trunk.blocks.${i}`;
    layerNorm(out, `${b}.norm1`, v.width);
    linear(out, `${b}.attn.qkv`, 3 * v.width, v.width);
    linear(out, `${b}.attn.proj`, v.width, v.width);
    layerNorm(out, `${b}.norm2`, v.width);
    linear(out, `${b}.mlp.fc1`, v.mlpWidth, v.width);
    linear(out, `${b}.mlp.fc2`, v.width, v.mlpWidth);
  }
  layerNorm(out, 'visual.trunk.norm', v.width);
  linear(out, 'visual.head.proj', cfg.embedDim, v.width, false);
}

function textKeys(out: Map<string, number[]>, cfg: ClipConfig): void {
  const t = cfg.text;
  const e = 'text.transformer.embeddings';
  out.set(`${e}.word_embeddings.weight`, [t.vocabSize, t.hiddenSize]);
  out.set(`${e}.position_embeddings.weight`, [t.maxPositions, t.hiddenSize]);
  out.set(`${e}.token_type_embeddings.weight`, [t.typeVocabSize, t.hiddenSize]);
  layerNorm(out, `${e}.LayerNorm`, t.hiddenSize);
  for (let i = 0; i < t.layers; i++) {
    const l = `text.transformer.encoder.layer.${i}`;
    linear(out, `${l}.attention.self.query`, t.hiddenSize, t.hiddenSize);
    linear(out, `${l}.attention.self.key`, t.hiddenSize, t.hiddenSize);
    linear(out, `${l}.attention.self.value`, t.hiddenSize, t.hiddenSize);
    linear(out, `${l}.attention.output.dense`, t.hiddenSize, t.hiddenSize);
    layerNorm(out, `${l}.attention.output.LayerNorm`, t.hiddenSize);
    linear(out, `${l}.intermediate.dense`, t.intermediateSize, t.hiddenSize);
    linear(out, `${l}.output.dense`, t.hiddenSize, t.intermediateSize);
    layerNorm(out, `${l}.output.LayerNorm`, t.hiddenSize);
  }
  linear(out, 'text.proj.0', t.projHidden, t.hiddenSize, false);
  linear(out, 'text.proj.2', cfg.embedDim, t.projHidden, false);
}

/**
 * Every tensor the forward pass needs, in checkpoint order, with its PyTorch shape. `logit_scale` is a
 * 0-d tensor in the public file; loaders also accept [1], found in other open_clip checkpoints.
 */
export function expectedTensorShapes(cfg: ClipConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  out.set('logit_scale', []);
  visionKeys(out, cfg);
  textKeys(out, cfg);
  return out;
}

/** True when `actual` is an acceptable shape for `key` (exact, or [1] for the scalar logit_scale). */
export function shapeMatches(key: string, expected: number[], actual: number[]): boolean {
  if (key === 'logit_scale' && actual.length === 1 && actual[0] === 1) return true;
  return expected.length === actual.length && expected.every((d, i) => d === actual[i]);
}
