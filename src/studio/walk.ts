/**
 * The forward pass as a sequence of steps a student can follow, computed from one real run: each step
 * names its tensor's shape, the hook point it was captured at (the same name as the PyTorch module),
 * where in src/ the line that computes it is, and the values to draw. The numbers are the trace's own
 * (ClipCore.trace, the code behind `biomedclip trace`); this file only reduces them for drawing (a norm
 * per token, [CLS]'s attention row), so nothing here re-implements the model.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipCore } from '../api/core.js';
import { hostHead } from '../api/scores.js';
import { NO_HOOKS } from '../model/hooks.js';
import type { HostTensor } from '../host-tensor.js';
import { preprocessImage } from '../image/index.js';
import type { Encoding } from '../tokenizer/index.js';

/** Where a step's computation is written: a file under src/ and a string that occurs once in it. */
export interface SourceRef {
  file: string;
  find: string;
}

export type Drawing =
  /** The crop, with the patch grid over it. */
  | { kind: 'crop'; rgb: Uint8Array; size: number; grid: number }
  /** Three channel planes of the normalised pixels. */
  | { kind: 'channels'; values: Float32Array; size: number; mean: readonly number[]; std: readonly number[] }
  /** One value per image token: [CLS] apart, the patches on their grid. */
  | { kind: 'tokens-map'; cls: number; patches: Float32Array; grid: number; label: string }
  /** [CLS]'s attention over the patches, per head and their mean. */
  | { kind: 'cls-attention'; heads: Float32Array[]; mean: Float32Array; grid: number; residual: { cls: number; patches: Float32Array } }
  /** One value per text token. */
  | { kind: 'token-bars'; tokens: string[]; values: number[]; label: string }
  /** WordPieces with their ids and the padding mask of every text. */
  | { kind: 'wordpieces'; texts: string[]; tokens: string[][]; ids: number[][]; mask: number[][] }
  /** A text's attention matrix (head mean) and the per-token norms after the layer. */
  | { kind: 'text-attention'; tokens: string[]; mean: Float32Array; norms: number[] }
  /** A vector (a feature), drawn as a strip of values. */
  | { kind: 'vector'; values: Float32Array; label: string }
  /** Cosines, × temperature, softmax. */
  | { kind: 'head'; texts: string[]; cosines: number[]; scale: number; logits: number[]; probabilities: number[] };

export interface WalkStep {
  id: string;
  tower: 'image' | 'text' | 'both';
  title: string;
  /** The tensor's shape, as the code's comments write it. */
  shape: string;
  /** The hook point the values were captured at, when they were. */
  hook?: string;
  source: SourceRef;
  /** What happens here, in two or three sentences. */
  text: string;
  draw: Drawing;
}

function get(trace: Map<string, HostTensor>, name: string): HostTensor {
  const t = trace.get(name);
  if (!t) throw new Error(`internal: the trace has no ${name}`);
  return t;
}

/** The L2 norm of each token's vector of row `row` of a [B, T, W] tensor. */
export function tokenNorms(t: HostTensor, row = 0): Float32Array {
  const [, tokens, width] = t.shape;
  const out = new Float32Array(tokens);
  for (let i = 0; i < tokens; i++) {
    let s = 0;
    const base = (row * tokens + i) * width;
    for (let k = 0; k < width; k++) s += t.data[base + k] ** 2;
    out[i] = Math.sqrt(s);
  }
  return out;
}

const split = (v: Float32Array) => ({ cls: v[0], patches: v.slice(1) });
const shapeText = (shape: number[]) => `[${shape.join(', ')}]`;

/** The norm of each token of the residual stream entering block 0 (the trunk's own `embed`, no hooks). */
async function residualStream(clip: ClipCore, px: HostTensor): Promise<Float32Array> {
  const [b, c, height, width] = px.shape;
  const x = tf.tidy(() => clip.model.visual.trunk.embed(tf.tensor4d(px.data, [b, c, height, width]), NO_HOOKS)); // [1, 1 + N, W]
  try {
    return tokenNorms({ shape: x.shape, data: (await x.data()) as Float32Array });
  } finally {
    x.dispose();
  }
}

export interface WalkInput {
  image: Uint8Array;
  texts: string[];
}

/** The image tower's steps, from the crop to the image features. */
async function imageSteps(clip: ClipCore, image: Uint8Array): Promise<{ steps: WalkStep[]; features: Float32Array }> {
  const m = clip.model;
  const trunk = m.visual.trunk;
  const { imageSize: size, mean, std } = clip.config.preprocess;
  const grid = size / clip.config.vision.patchSize;
  const { pixelValues, crop } = await preprocessImage(image, clip.config.preprocess, clip.preprocessOptions());
  const px: HostTensor = { shape: [1, 3, size, size], data: pixelValues };
  const names = [
    trunk.patch_embed.point.name,
    ...trunk.blocks.map((b) => [b.attn.probs.name, b.resid_mid.name, b.mlp.point.name, b.point.name]).flat(),
    trunk.norm.point.name,
    m.visual.head.proj.point.name,
  ];
  const trace = await clip.trace({ pixelValues: px }, { capture: names });
  const patches = tokenNorms(get(trace, trunk.patch_embed.point.name));
  const steps: WalkStep[] = [
    {
      id: 'crop',
      tower: 'image',
      title: `Resize and crop to ${size} × ${size}`,
      shape: shapeText([size, size, 3]),
      source: { file: 'image/preprocess-core.ts', find: 'export function preprocessDecoded' },
      text: `The image is resized so its shorter side is ${size} pixels (bicubic, as Pillow) and the centre ${size} × ${size} is cut out. The model sees it as a ${grid} × ${grid} grid of ${clip.config.vision.patchSize}-pixel patches.`,
      draw: { kind: 'crop', rgb: crop, size, grid },
    },
    {
      id: 'pixels',
      tower: 'image',
      title: 'Normalise each colour channel',
      shape: shapeText(px.shape),
      hook: 'inputs.pixel_values',
      source: { file: 'image/normalize.ts', find: 'export function normalizeToCHW' },
      text: "Each channel is scaled to [0, 1], then shifted by its mean and divided by its standard deviation over the pretraining images (OpenAI CLIP's statistics), and laid out channel-first: the layout PyTorch's convolution expects.",
      draw: { kind: 'channels', values: px.data, size, mean, std },
    },
    {
      id: 'patches',
      tower: 'image',
      title: 'Patch embedding: each 16 × 16 patch becomes a vector',
      shape: shapeText(get(trace, trunk.patch_embed.point.name).shape),
      hook: trunk.patch_embed.point.name,
      source: { file: 'model/vision.ts', find: 'class PatchEmbed' },
      text: `A ${clip.config.vision.patchSize} × ${clip.config.vision.patchSize} convolution with stride ${clip.config.vision.patchSize} is one linear map applied to every patch: ${grid * grid} patches, ${clip.config.vision.width} numbers each. Drawn: the length (L2 norm) of each patch's vector.`,
      draw: { kind: 'tokens-map', cls: NaN, patches, grid, label: 'norm of each patch vector' },
    },
    {
      id: 'embed',
      tower: 'image',
      title: 'Prepend [CLS], add position embeddings',
      shape: shapeText([1, grid * grid + 1, clip.config.vision.width]),
      source: { file: 'model/vision.ts', find: 'return tf.add(tf.concat([cls, patches], 1), this.pos_embed)' },
      text: 'A learned [CLS] token goes in front of the patches; it belongs to no place in the image and will gather from all of them. A learned vector per position is added to every token, since attention by itself does not know where a patch was. This is the residual stream entering block 0.',
      draw: { kind: 'tokens-map', ...split(await residualStream(clip, px)), grid, label: 'norm of each token entering block 0' },
    },
  ];
  trunk.blocks.forEach((block, l) => {
    const probs = get(trace, block.attn.probs.name); // [1, H, T, T]
    const [, heads, tokens] = probs.shape;
    const rows = Array.from({ length: heads }, (_, h) => probs.data.slice(h * tokens * tokens + 1, h * tokens * tokens + tokens)); // [CLS]'s row, patches only
    const meanRow = new Float32Array(tokens - 1);
    rows.forEach((r) => r.forEach((v, i) => (meanRow[i] += v / heads)));
    steps.push({
      id: `block-${l}`,
      tower: 'image',
      title: `Block ${l}: attention, then MLP, each added to the residual stream`,
      shape: shapeText(get(trace, block.point.name).shape),
      hook: block.point.name,
      source: { file: 'model/vision.ts', find: 'class VitBlock' },
      text: `LayerNorm, then ${heads} heads of self-attention: every token scores every other (query · key / √d), softmax turns the scores into weights, and the weighted sum of values is added back. Then a LayerNorm and an MLP (GELU), added back too. Drawn: where [CLS] looks (${block.attn.probs.name}) and the residual stream's norm per token after the block.`,
      draw: { kind: 'cls-attention', heads: rows, mean: meanRow, grid, residual: split(tokenNorms(get(trace, block.point.name))) },
    });
  });
  const features = get(trace, m.visual.head.proj.point.name).data;
  steps.push(
    {
      id: 'pool',
      tower: 'image',
      title: 'Final LayerNorm; [CLS] is the summary',
      shape: `${shapeText(get(trace, trunk.norm.point.name).shape)} → [1, ${clip.config.vision.width}]`,
      hook: trunk.norm.point.name,
      source: { file: 'model/vision.ts', find: 'class VisionHead' },
      text: '[CLS] carries no patch of its own: through every block it gathered from all of them, so its final state stands for the whole image. The patch tokens are dropped here.',
      draw: { kind: 'tokens-map', ...split(tokenNorms(get(trace, trunk.norm.point.name))), grid, label: 'norm of each token after the final LayerNorm' },
    },
    {
      id: 'image-proj',
      tower: 'image',
      title: 'Projection into the shared space',
      shape: shapeText(get(trace, m.visual.head.proj.point.name).shape),
      hook: m.visual.head.proj.point.name,
      source: { file: 'model/vision.ts', find: 'class VisionHead' },
      text: `A linear map (no bias) takes [CLS] into the ${clip.config.embedDim}-dimensional space that texts are mapped into too: these are the image features (\`embed --json\`'s "features").`,
      draw: { kind: 'vector', values: features, label: 'image features' },
    },
  );
  return { steps, features };
}

/** The text tower's steps, for every text (drawn for the first). */
async function textSteps(clip: ClipCore, texts: string[]): Promise<{ steps: WalkStep[]; features: Float32Array[]; enc: Encoding }> {
  const bert = clip.model.text.transformer;
  const enc = clip.tokenize(texts);
  const layers = bert.encoder.layer;
  const names = [bert.embeddings.point.name, ...layers.map((l) => [l.attention.self.probs.name, l.point.name]).flat(), clip.model.text.proj.point.name];
  const trace = await clip.trace({ texts }, { capture: names });
  const n = enc.attentionMask[0].reduce((a, b) => a + b, 0);
  const t = enc.inputIds[0].length;
  const first = enc.tokens[0].slice(0, n);
  const norms = (name: string) => Array.from(tokenNorms(get(trace, name))).slice(0, n);
  const steps: WalkStep[] = [
    {
      id: 'wordpieces',
      tower: 'text',
      title: 'WordPiece: text → pieces → ids',
      shape: shapeText([texts.length, t]),
      hook: 'inputs.input_ids',
      source: { file: 'tokenizer/tokenizer.ts', find: 'export class WordPieceTokenizer' },
      text: 'The text is cleaned, lower-cased and split into words, and each word into the longest pieces found in the 30,522-entry vocabulary ("##" marks a piece inside a word). [CLS] opens every text and [SEP] closes it; shorter texts are padded with [PAD], which the mask (0) hides from attention.',
      draw: { kind: 'wordpieces', texts, tokens: enc.tokens, ids: enc.inputIds, mask: enc.attentionMask },
    },
    {
      id: 'text-embed',
      tower: 'text',
      title: 'Token + position embeddings, LayerNorm',
      shape: shapeText(get(trace, bert.embeddings.point.name).shape),
      hook: bert.embeddings.point.name,
      source: { file: 'model/text.ts', find: 'class BertEmbeddings' },
      text: 'Each id selects a row of the embedding table; a learned vector for its position (and for segment 0) is added, then normalised.',
      draw: { kind: 'token-bars', tokens: first, values: norms(bert.embeddings.point.name), label: `norm of each token of "${texts[0]}"` },
    },
  ];
  layers.forEach((layer, l) => {
    const probs = get(trace, layer.attention.self.probs.name); // [N, H, T, T]
    const heads = probs.shape[1];
    const mean = new Float32Array(n * n);
    for (let h = 0; h < heads; h++) for (let q = 0; q < n; q++) for (let k = 0; k < n; k++) mean[q * n + k] += probs.data[(h * t + q) * t + k] / heads;
    steps.push({
      id: `layer-${l}`,
      tower: 'text',
      title: `Layer ${l}: attention over the words, then the feed-forward`,
      shape: shapeText(get(trace, layer.point.name).shape),
      hook: layer.point.name,
      source: { file: 'model/text.ts', find: 'class BertLayer' },
      text: `BERT adds first and normalises after (post-LN): ${heads} heads of attention, whose mask gives [PAD] keys no weight, then a GELU feed-forward. Drawn: the head-mean attention of "${texts[0]}" (row: the query token) and each token's norm after the layer.`,
      draw: { kind: 'text-attention', tokens: first, mean, norms: norms(layer.point.name) },
    });
  });
  const proj = get(trace, clip.model.text.proj.point.name);
  const e = proj.shape[1];
  const features = texts.map((_, i) => proj.data.slice(i * e, (i + 1) * e));
  steps.push({
    id: 'text-proj',
    tower: 'text',
    title: '[CLS] pooling and the projection MLP',
    shape: shapeText(proj.shape),
    hook: clip.model.text.proj.point.name,
    source: { file: 'model/text.ts', find: 'class MlpProjection' },
    text: `The final state of [CLS] stands for the text; a two-layer MLP (GELU between, no biases) maps it into the same ${e}-dimensional space as the images: the text features.`,
    draw: { kind: 'vector', values: features[0], label: `text features of "${texts[0]}"` },
  });
  return { steps, features, enc };
}

/** The whole walk: image tower, text tower, and the CLIP head that compares them. */
export async function walkthrough(clip: ClipCore, input: WalkInput): Promise<WalkStep[]> {
  const image = await imageSteps(clip, input.image);
  const text = await textSteps(clip, input.texts);
  // The model's own head (model/head.ts, through scores.ts): the walk shows its numbers, it does not redo them.
  const scale = clip.logitScale;
  const { logits, probs } = await hostHead([image.features], text.features, clip.model.logit_scale, true);
  const cosines = logits[0].map((l) => l / scale);
  const head: WalkStep = {
    id: 'head',
    tower: 'both',
    title: 'Cosine similarity × temperature, softmax',
    shape: shapeText([1, input.texts.length]),
    hook: 'outputs.logits_per_image',
    source: { file: 'model/head.ts', find: 'export function clipLogits' },
    text: `Both feature vectors are scaled to length 1, so their dot product is the cosine of the angle between them. Multiplied by the learned temperature exp(logit_scale) = ${scale.toFixed(2)}, these are the logits; a softmax over the texts turns them into probabilities.`,
    draw: { kind: 'head', texts: input.texts, cosines, scale, logits: logits[0], probabilities: probs![0] },
  };
  return [...image.steps, ...text.steps, head];
}
