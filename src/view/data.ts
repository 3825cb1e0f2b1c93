/**
 * The viewer's data adapter: runs the model on the images and texts and returns everything the page shows,
 * as host arrays: every layer's attention probabilities of both towers (captured by hook name, as `trace`
 * does), the explanation maps of each image-text pair (as `explain --json` reports them), the logit lens
 * (as `lens --json`) and the zero-shot scores. The page format (page.ts) knows nothing of the model.
 */
import { DEFAULT_TEMPLATE, fillTemplate, type BiomedCLIP } from '../api/biomedclip.js';
import { DEMO_LABEL, DEMO_WARNING } from '../demo/demo-model.js';
import { UserError } from '../errors.js';
import type { HostTensor } from '../host-tensor.js';
import { preprocessImage } from '../image/index.js';
import type { ExplainRecord, LabelScore, LensRecord, PageData } from './contract.js';
import { lensCosines, pairLogits, rollout, viridisLut } from './interim.js';

/** Explanation methods the viewer can show (INTERIM: relevance and gradcam need src/inspect's gradients). */
export const VIEW_METHODS = ['rollout'] as const;

export interface ViewRequest {
  /** Image files. */
  images: string[];
  /** Texts; without any, the prompts of `labels`. */
  texts: string[];
  /** Zero-shot labels: adds each image's scores, and the lens's probabilities when the texts are their prompts. */
  labels?: string[];
  /** Prompt template with {} (default open_clip's "this is a photo of {}"). */
  template?: string;
  methods?: readonly string[];
  /** Called before each model pass, for progress lines. */
  onStep?: (message: string) => void;
}

export interface ImageView {
  name: string;
  /** [S, S, 3] RGB bytes: the crop the model saw. */
  crop: Uint8Array;
  /** Per layer [1, H, S, S]. */
  attention: HostTensor[];
  lens: LensRecord | null;
  scores: LabelScore[] | null;
}

export interface TextView {
  text: string;
  tokens: string[];
  /** Per layer [1, H, T, T] over the text's own tokens, [CLS] … [SEP]. */
  attention: HostTensor[];
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

/** Hook names of the attention probabilities [B, H, S, S] of one tower's layer. */
export const attentionName = {
  image: (layer: number) => `visual.trunk.blocks.${layer}.attn.probs`,
  text: (layer: number) => `text.transformer.encoder.layer.${layer}.attention.self.probs`,
};

const range = (n: number) => [...Array(n).keys()];

export async function collectView(clip: BiomedCLIP, req: ViewRequest): Promise<ViewModel> {
  const { vision, text } = clip.config;
  const methods = [...(req.methods ?? VIEW_METHODS)];
  const unknown = methods.filter((m) => !(VIEW_METHODS as readonly string[]).includes(m));
  if (unknown.length > 0) throw new UserError(`--methods: unknown method '${unknown[0]}'; valid: ${VIEW_METHODS.join(', ')}`, 2);
  const template = req.template ?? DEFAULT_TEMPLATE;
  const fromLabels = req.texts.length === 0;
  const texts = fromLabels ? (req.labels ?? []).map((l) => fillTemplate(template, l)) : req.texts;
  if (texts.length === 0) throw new UserError('no text given; pass --text TEXT (repeatable) or --labels "a,b,c"', 2);

  req.onStep?.(`text tower: ${texts.length} text(s)`);
  const { views: textViews, features: textFeatures } = await traceTexts(clip, texts);
  const labelEmbeddings = req.labels ? await clip.labelEmbeddings(req.labels, [template]) : undefined;
  const images: ImageView[] = [];
  const explanations: ExplainRecord[] = [];
  const grid = vision.imageSize / vision.patchSize;
  for (const name of req.images) {
    req.onStep?.(`image tower: ${name}`);
    const traced = await traceImage(clip, name);
    const logits = pairLogits(clip.model, [traced.features], textFeatures)[0];
    const cosines = lensCosines(clip.model, traced.blocks, textFeatures);
    const scores = req.labels && labelEmbeddings ? (await clip.scoreLabels([traced.features], labelEmbeddings, req.labels))[0] : null;
    const lens: LensRecord = {
      image: name,
      texts,
      layers: cosines.map((cosine, layer) => {
        const logit = cosine.map((c) => clip.logitScale * c);
        return { layer, cosine, logit, ...(fromLabels && req.labels ? { probability: softmax(logit) } : {}) };
      }),
    };
    images.push({ name, crop: traced.crop, attention: traced.attention, lens, scores });
    const imageRollout = rollout(traced.attention).slice(1);
    textViews.forEach((t, j) => {
      explanations.push({ method: 'rollout', image: name, text: t.text, grid: [grid, grid], image_map: Array.from(imageRollout), tokens: t.tokens, text_map: Array.from(rollout(t.attention)), logit: logits[j] });
    });
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
    texts: textViews,
    explanations,
    colormap: overlayColormap(),
  };
}

/** The overlays' colormap: viridis, perceptually uniform and readable by colour-blind readers. */
export function overlayColormap(): ViewModel['colormap'] {
  return { name: 'viridis', lut: viridisLut() };
}

/** One pass of the image tower capturing every layer's attention (and, INTERIM, every block for the lens). */
async function traceImage(clip: BiomedCLIP, name: string) {
  const { layers } = clip.config.vision;
  const p = await preprocessImage(name, clip.config.preprocess);
  const s = clip.config.preprocess.imageSize;
  const blockNames = range(layers).map((l) => `visual.trunk.blocks.${l}`);
  const traced = await clip.trace({ pixelValues: { shape: [1, 3, s, s], data: p.pixelValues } }, { capture: [...range(layers).map(attentionName.image), ...blockNames] });
  return {
    crop: p.crop,
    attention: range(layers).map((l) => traced.get(attentionName.image(l))!),
    blocks: blockNames.map((n) => traced.get(n)!),
    features: traced.get('outputs.image_features')!.data,
  };
}

/**
 * One pass of the text tower over all texts, padded to the longest. Each text's attention is cut to its own
 * tokens: its [PAD] keys have exactly zero weight, so its real rows are unchanged.
 */
async function traceTexts(clip: BiomedCLIP, texts: string[]): Promise<{ views: TextView[]; features: Float32Array[] }> {
  const { layers, heads } = clip.config.text;
  const enc = clip.tokenize(texts);
  const traced = await clip.trace({ texts }, { capture: range(layers).map(attentionName.text) });
  const t = enc.inputIds[0].length;
  const feats = traced.get('outputs.text_features')!;
  const e = feats.shape[1];
  const views = texts.map((text, i) => {
    const n = enc.attentionMask[i].reduce((a, b) => a + b, 0);
    const attention = range(layers).map((l) => {
      const all = traced.get(attentionName.text(l))!.data; // [N, H, T, T]
      const data = new Float32Array(heads * n * n);
      for (let h = 0; h < heads; h++) for (let q = 0; q < n; q++) data.set(all.subarray(((i * heads + h) * t + q) * t, ((i * heads + h) * t + q) * t + n), (h * n + q) * n);
      return { shape: [1, heads, n, n], data };
    });
    return { text, tokens: enc.tokens[i].slice(0, n), attention };
  });
  return { views, features: texts.map((_, i) => feats.data.slice(i * e, (i + 1) * e)) };
}

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}
