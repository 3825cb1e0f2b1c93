/**
 * The viewer's data adapter: runs the model on the images and texts and returns everything the page shows,
 * as host arrays: every layer's attention probabilities of both towers (captured by hook name, as `trace`
 * does), the explanation maps of each image-text pair (src/inspect's `explain`, as `explain --json` reports
 * them), the logit lens (src/inspect's `logitLens`, as `lens --json`) and the zero-shot scores. The page
 * format (page.ts) knows nothing of the model.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_TEMPLATE, fillTemplate } from '../api/templates.js';
import { DEMO_LABEL, DEMO_WARNING } from '../demo/marker.js';
import { UserError } from '../errors.js';
import type { HostTensor } from '../host-tensor.js';
import { preprocessImage, type ImageInput, type PreprocessOptions } from '../image/index.js';
import { METHODS, type Explanation, type Method } from '../inspect/explain.js';
import { logitLens } from '../inspect/lens.js';
import { attentionPoint } from '../inspect/probe.js';
import { viridis } from '../inspect/render/colormap.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import type { ClipConfig } from '../model/config.js';
import { zeroShotProbs } from '../model/head.js';
import type { Encoding } from '../tokenizer/index.js';
import type { ExplainRecord, LabelScore, LensRecord, PageData } from './contract.js';

/** The explanation methods shown by default: the three of `biomedclip explain` that issue 14 names. */
export const VIEW_METHODS: readonly Method[] = ['rollout', 'relevance', 'gradcam'];

/**
 * What the viewer needs from a model (the `BiomedCLIP` facade has it): the network itself (its attention
 * hook names, the logit lens), where it came from, and the facade's calls on images and texts.
 */
export interface ViewSource {
  readonly model: BiomedCLIPModel;
  readonly modelDir: string;
  readonly isDemo: boolean;
  readonly config: Pick<ClipConfig, 'vision' | 'text' | 'preprocess'>;
  /** Reads every image's header, throwing the first bad one's UserError, before any model work. */
  checkImages(images: readonly ImageInput[]): Promise<void>;
  /** The model's own image options (its --max-pixels). */
  preprocessOptions(): PreprocessOptions;
  tokenize(texts: string[]): Encoding;
  trace(inputs: { pixelValues?: HostTensor; texts?: string[] }, opts: { capture: string[] }): Promise<Map<string, HostTensor>>;
  explain(image: ImageInput, text: string, methods: readonly Method[]): Promise<{ explanations: Explanation[]; tokens: string[] }>;
  /** One unit embedding per label, its prompts from `templates` (ensembled). */
  labelEmbeddings(labels: string[], templates: string[]): Promise<Float32Array[]>;
  /** Each image's zero-shot scores over the labels, most probable first. */
  scoreLabels(imageEmbeddings: Float32Array[], labelEmbeddings: Float32Array[], labels: string[]): Promise<LabelScore[][]>;
}

/** An image that is not a file: its bytes and the name the page and the records give it. */
export interface NamedImage {
  name: string;
  bytes: Uint8Array;
}

const imageName = (img: string | NamedImage) => (typeof img === 'string' ? img : img.name);
const imageInput = (img: string | NamedImage): ImageInput => (typeof img === 'string' ? img : img.bytes);

export interface ViewRequest {
  /** Image files, or (in a page) images' bytes with the names they are shown by. */
  images: Array<string | NamedImage>;
  /** Texts; without any, the prompts of `labels`. */
  texts: string[];
  /** Zero-shot labels: adds each image's scores, and the lens's probabilities when the texts are their prompts. */
  labels?: string[];
  /** Prompt template with {} (default open_clip's "this is a photo of {}"). */
  template?: string;
  methods?: readonly string[];
  /**
   * Without texts: explain (and show) only each image's `explainTop` most probable labels (default
   * DEFAULT_EXPLAIN_TOP); the zero-shot scores still cover every label.
   */
  explainTop?: number;
  /**
   * Called after each step (the text tower, each image's tower pass, each explained pair) with the steps
   * done and their total, for a progress bar: at full size each step takes seconds.
   */
  onProgress?: (done: number, total: number) => void;
  /** Called with what the page leaves out, and how to change it. */
  onNote?: (message: string) => void;
}

/**
 * Labels explained per image when the texts are the label prompts. Every explained pair costs the passes
 * of `explain` and a card on the page: 300 labels took 42 s on the demo model and drew an 81,695-pixel
 * page, where the few most probable labels are the ones a reader looks at.
 */
export const DEFAULT_EXPLAIN_TOP = 3;

export interface ImageView {
  name: string;
  /** [S, S, 3] RGB bytes: the crop the model saw. */
  crop: Uint8Array;
  /** Per layer [1, H, S, S]. */
  attention: HostTensor[];
  /** Per layer, the hook name the attention was captured at (read from the model's modules). */
  attentionNames: string[];
  lens: LensRecord | null;
  scores: LabelScore[] | null;
}

export interface TextView {
  text: string;
  tokens: string[];
  /** Per layer [1, H, T, T] over the text's own tokens, [CLS] … [SEP]. */
  attention: HostTensor[];
  /** Per layer, the hook name the attention was captured at. */
  attentionNames: string[];
}

export interface ViewModel {
  model: PageData['model'];
  labels: string[] | null;
  methods: string[];
  images: ImageView[];
  texts: TextView[];
  explanations: ExplainRecord[];
  /** 256 RGB entries. */
  colormap: { name: string; lut: Uint8Array };
}

const range = (n: number) => [...Array(n).keys()];

export async function collectView(clip: ViewSource, req: ViewRequest): Promise<ViewModel> {
  const { vision, text } = clip.config;
  const methods = [...(req.methods ?? VIEW_METHODS)];
  const unknown = methods.find((m) => !(METHODS as readonly string[]).includes(m));
  if (unknown !== undefined) throw new UserError(`--methods: unknown method '${unknown}'; valid: ${METHODS.join(', ')}`, 2);
  if (methods.length === 0) throw new UserError(`--methods: no methods given; pass some of ${METHODS.join(', ')}`, 2);
  const template = req.template ?? DEFAULT_TEMPLATE;
  const fromLabels = req.texts.length === 0;
  const texts = fromLabels ? (req.labels ?? []).map((l) => fillTemplate(template, l)) : req.texts;
  if (texts.length === 0) throw new UserError('no text given; pass --text TEXT (repeatable) or --labels "a,b,c"', 2);

  // Every image read and its header checked before any model work: a bad second image used to fail only
  // after the first one's passes (tens of seconds at full size).
  await clip.checkImages(req.images.map(imageInput));
  const explainTop = req.explainTop ?? DEFAULT_EXPLAIN_TOP;
  const bounded = fromLabels && texts.length > explainTop;
  if (bounded)
    req.onNote?.(
      `explaining each image's ${explainTop} most probable of the ${texts.length} labels (scores cover all of them); --explain-top N for more, or --text to choose the texts`,
    );

  const total = 1 + req.images.length * (1 + (bounded ? explainTop : texts.length));
  let done = 0;
  const step = () => req.onProgress?.(++done, total);
  const { views: textViews, features: textFeatures } = await traceTexts(clip, texts);
  step();
  const labelEmbeddings = req.labels ? await clip.labelEmbeddings(req.labels, [template]) : undefined;
  const images: ImageView[] = [];
  const explanations: ExplainRecord[] = [];
  const shown = new Set<string>();
  const grid = vision.imageSize / vision.patchSize;
  for (const image of req.images) {
    const name = imageName(image);
    const traced = await traceImage(clip, imageInput(image), textFeatures);
    step();
    const scores = req.labels && labelEmbeddings ? (await clip.scoreLabels([traced.features], labelEmbeddings, req.labels))[0] : null;
    // Scores come most probable first; the lens keeps its probabilities over every label, shown for these.
    const explained = bounded ? scores!.slice(0, explainTop).map((s) => fillTemplate(template, s.label)) : texts;
    explained.forEach((t) => shown.add(t));
    const columns = explained.map((t) => texts.indexOf(t));
    const probability = fromLabels && req.labels ? await lensProbabilities(traced.lens) : undefined;
    const layers = traced.lens.map((row, l) => ({
      ...row,
      cosine: columns.map((c) => row.cosine[c]),
      logit: columns.map((c) => row.logit[c]),
      ...(probability ? { probability: columns.map((c) => probability[l][c]) } : {}),
    }));
    const lens: LensRecord = { image: name, texts: explained, layers };
    images.push({ name, crop: traced.crop, attention: traced.attention, attentionNames: traced.attentionNames, lens, scores });
    for (const text of explained) {
      const r = await clip.explain(imageInput(image), text, methods as Method[]);
      step();
      for (const e of r.explanations) {
        explanations.push({
          method: e.method,
          image: name,
          text,
          grid: e.grid,
          image_map: Array.from(e.imageMap),
          tokens: r.tokens,
          text_map: e.textMap && Array.from(e.textMap),
          logit: e.logit,
        });
      }
    }
  }
  return {
    model: {
      dir: clip.modelDir,
      warning: clip.isDemo ? DEMO_WARNING : null,
      label: clip.isDemo ? DEMO_LABEL : null,
      vision: { layers: vision.layers, heads: vision.heads, imageSize: vision.imageSize, patchSize: vision.patchSize, grid: [grid, grid] },
      text: { layers: text.layers, heads: text.heads },
    },
    labels: req.labels ?? null,
    methods,
    images,
    texts: textViews.filter((t) => shown.has(t.text)),
    explanations,
    colormap: overlayColormap(),
  };
}

/** The overlays' colormap: viridis, as `explain`'s pictures, as 256 RGB entries. */
export function overlayColormap(): ViewModel['colormap'] {
  return { name: 'viridis', lut: Uint8Array.from(range(256).flatMap((i) => viridis(i / 255))) };
}

/** The image tower's pass capturing every layer's attention, and the logit lens against the texts. */
async function traceImage(clip: ViewSource, image: ImageInput, textFeatures: Float32Array[]) {
  const { layers } = clip.config.vision;
  const p = await preprocessImage(image, clip.config.preprocess, clip.preprocessOptions());
  const s = clip.config.preprocess.imageSize;
  const names = range(layers).map((l) => attentionPoint(clip.model, 'image', l));
  const traced = await clip.trace({ pixelValues: { shape: [1, 3, s, s], data: p.pixelValues } }, { capture: names });
  const pixels = tf.tensor4d(p.pixelValues, [1, 3, s, s]);
  const texts = tf.tensor2d(textFeatures.map((t) => Array.from(t))); // [N, E]
  try {
    return {
      crop: p.crop,
      attention: names.map((name) => traced.get(name)!),
      attentionNames: names,
      features: traced.get('outputs.image_features')!.data,
      lens: await logitLens(clip.model, pixels, texts),
    };
  } finally {
    tf.dispose([pixels, texts]);
  }
}

/**
 * One pass of the text tower over all texts, padded to the longest. Each text's attention is cut to its own
 * tokens: its [PAD] keys have exactly zero weight, so its real rows are unchanged.
 */
async function traceTexts(clip: ViewSource, texts: string[]): Promise<{ views: TextView[]; features: Float32Array[] }> {
  const { layers, heads } = clip.config.text;
  const enc = clip.tokenize(texts);
  const names = range(layers).map((l) => attentionPoint(clip.model, 'text', l));
  const traced = await clip.trace({ texts }, { capture: names });
  const t = enc.inputIds[0].length;
  const feats = traced.get('outputs.text_features')!;
  const e = feats.shape[1];
  const views = texts.map((text, i) => {
    const n = enc.attentionMask[i].reduce((a, b) => a + b, 0);
    const attention = range(layers).map((l) => {
      const all = traced.get(names[l])!.data; // [N, H, T, T]
      const data = new Float32Array(heads * n * n);
      for (let h = 0; h < heads; h++)
        for (let q = 0; q < n; q++) data.set(all.subarray(((i * heads + h) * t + q) * t, ((i * heads + h) * t + q) * t + n), (h * n + q) * n);
      return { shape: [1, heads, n, n], data };
    });
    return { text, tokens: enc.tokens[i].slice(0, n), attention, attentionNames: names };
  });
  return { views, features: texts.map((_, i) => feats.data.slice(i * e, (i + 1) * e)) };
}

/** Each lens row's logits through the CLIP head's softmax over the texts: the zero-shot probability per layer. */
async function lensProbabilities(rows: Array<{ logit: number[] }>): Promise<number[][]> {
  const probs = tf.tidy(() => zeroShotProbs(tf.tensor2d(rows.map((r) => r.logit))));
  try {
    return (await probs.array()) as number[][]; // async: webgpu cannot read a tensor synchronously
  } finally {
    probs.dispose();
  }
}
