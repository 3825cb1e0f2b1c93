/**
 * Full-size viewer data without running a full-size model: attention of BiomedCLIP's shapes (12 layers ×
 * 12 heads × 197 × 197 per image) as softmax rows of seeded random scores, for the page's size budget and
 * the browser's first-paint time on several images. `spread` sets how peaked the rows are: real attention
 * is peaked (compresses well), 0.1 is nearly uniform (the worst case for gzip).
 */
import type { HostTensor } from '../../src/host-tensor.js';
import { attentionPoint } from '../../src/inspect/probe.js';
import { DEFAULT_CONFIG } from '../../src/model/config.js';
import { modelSpec } from '../../src/model/spec.js';
import { mulberry32 } from '../../src/util/random.js';
import { overlayColormap, type ViewModel } from '../../src/view/data.js';

export const FULL = { layers: 12, heads: 12, grid: 14, tokens: 197, imageSize: 224 };

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
}

/** Per layer [1, H, S, S], each row a softmax of N(0, spread²) scores. */
export function randomAttention(layers: number, heads: number, s: number, spread: number, seed: number): HostTensor[] {
  const next = mulberry32(seed);
  return Array.from({ length: layers }, () => {
    const data = new Float32Array(heads * s * s);
    for (let r = 0; r < heads * s; r++) {
      let sum = 0;
      for (let k = 0; k < s; k++) sum += data[r * s + k] = Math.exp(spread * gaussian(next));
      for (let k = 0; k < s; k++) data[r * s + k] /= sum;
    }
    return { shape: [1, heads, s, s], data };
  });
}

/** A smooth colourful crop [S, S, 3] (gradients compress like photographs do, roughly). */
function crop(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      out[i] = 128 + 100 * Math.sin((x + seed * 17) / 19);
      out[i + 1] = 128 + 100 * Math.cos((y + seed * 5) / 23);
      out[i + 2] = 128 + 80 * Math.sin((x + y) / 31);
    }
  }
  return out;
}

/** A ViewModel of `images` full-size images and one 12-token text, with a rollout-like record per pair. */
export function fullSizeView(images: number, spread: number): ViewModel {
  const { layers, heads, grid, tokens, imageSize } = FULL;
  const text = 'squamous cell carcinoma with keratin pearls';
  const words = ['[CLS]', 'squamous', 'cell', 'carcinoma', 'with', 'keratin', 'pearl', '##s', '[SEP]'];
  const names = Array.from({ length: images }, (_, i) => `slide-${i + 1}.png`);
  const structure = modelSpec(DEFAULT_CONFIG).model; // names only: the full-size model's modules, no weights
  const attentionNames = (tower: 'image' | 'text') => Array.from({ length: layers }, (_, l) => attentionPoint(structure, tower, l));
  return {
    model: {
      dir: 'synthetic',
      warning: 'synthetic attention (random softmax rows), not a model',
      label: null,
      vision: { layers, heads, imageSize, patchSize: 16, grid: [grid, grid] },
      text: { layers, heads },
    },
    labels: null,
    methods: ['rollout'],
    images: names.map((name, i) => ({
      name,
      crop: crop(imageSize, i),
      attention: randomAttention(layers, heads, tokens, spread, 1 + i),
      attentionNames: attentionNames('image'),
      lens: { image: name, texts: [text], layers: Array.from({ length: layers }, (_, l) => ({ layer: l, cosine: [0.02 * l], logit: [2 * l] })) },
      scores: null,
    })),
    texts: [{ text, tokens: words, attention: randomAttention(layers, heads, words.length, spread, 99), attentionNames: attentionNames('text') }],
    explanations: names.map((name) => ({
      method: 'rollout',
      image: name,
      text,
      grid: [grid, grid],
      image_map: Array.from({ length: grid * grid }, (_, k) => Math.sin(k / 7) ** 2),
      tokens: words,
      text_map: words.map((_, k) => k / words.length),
      logit: 20,
    })),
    colormap: overlayColormap(),
  };
}
