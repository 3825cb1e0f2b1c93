/**
 * The viewer's sections over a live run: the same adapter as `biomedclip view` (view/data.ts's
 * collectView: every layer's attention of both towers, the explanation maps, the logit lens, the scores)
 * run in the page, handed to the same views (view/client) through a `Viewer` filled from float32 values
 * instead of a page's packed blocks. One client codebase draws both the static page and the explorer.
 */
import type { ClipCore } from '../../api/core.js';
import { METHODS } from '../../inspect/explain.js';
import { collectView, type ViewModel, type ViewSource } from '../../view/data.js';
import { FloatAttention } from '../../view/client/attention.js';
import { cropCanvas } from '../../view/client/draw.js';
import { explainSection } from '../../view/client/explain-view.js';
import { imageSection } from '../../view/client/image-view.js';
import { keyHandler } from '../../view/client/keys.js';
import { lensSection } from '../../view/client/lens-view.js';
import { initialState, Store, type Viewer } from '../../view/client/state.js';
import { textSection } from '../../view/client/text-view.js';
import type { InputImage } from './inputs.js';

export interface LiveRequest {
  image: InputImage;
  /** Zero-shot labels (the texts box's lines): their prompts are the texts shown. */
  labels: string[];
  template: string;
  methods?: string[];
  onProgress?: (done: number, total: number) => void;
  /** Awaited before each pass: lets the page paint (main.ts's yieldToPage). */
  pause: () => Promise<void>;
}

/**
 * `clip` with a pause before each pass, so the page paints its progress between them (each pass can take
 * seconds at full size, and on wasm nothing else would return to the event loop: main.ts's yieldToPage).
 */
function pausing(clip: ClipCore, pause: () => Promise<void>): ViewSource {
  return {
    model: clip.model,
    modelDir: clip.modelDir,
    isDemo: clip.isDemo,
    config: clip.config,
    checkImages: (images) => clip.checkImages(images),
    preprocessOptions: () => clip.preprocessOptions(),
    tokenize: (texts) => clip.tokenize(texts),
    trace: async (inputs, opts) => (await pause(), clip.trace(inputs, opts)),
    explain: async (image, text, methods) => (await pause(), clip.explain(image, text, methods)),
    labelEmbeddings: async (labels, templates) => (await pause(), clip.labelEmbeddings(labels, templates)),
    scoreLabels: (a, b, labels) => clip.scoreLabels(a, b, labels),
  };
}

/** Runs the model the way `view` does and returns a Viewer over the results. */
export async function liveViewer(clip: ClipCore, req: LiveRequest): Promise<Viewer> {
  const vm: ViewModel = await collectView(pausing(clip, req.pause), {
    images: [{ name: req.image.name, bytes: req.image.bytes }],
    texts: [],
    labels: req.labels,
    template: req.template,
    methods: req.methods ?? [...METHODS], // all five: the page computes them when the tab opens
    onProgress: req.onProgress,
  });
  const size = vm.model.vision.imageSize;
  const attention = (maps: Pick<ViewModel['texts'][number], 'attention' | 'attentionNames'>) =>
    new FloatAttention(
      maps.attention.map((t) => t.data),
      maps.attention[0].shape,
      maps.attentionNames,
    );
  const v: Viewer = {
    model: vm.model,
    lut: vm.colormap.lut,
    methods: vm.methods,
    images: vm.images.map((img) => ({ name: img.name, crop: cropCanvas(img.crop, size), attention: attention(img), lens: img.lens, scores: img.scores })),
    texts: vm.texts.map((t) => ({ text: t.text, tokens: t.tokens, attention: attention(t) })),
    explanations: vm.explanations,
    store: new Store(initialState(vm.model)),
    showImage: async (i) => v.store.update({ image: i }),
  };
  return v;
}

/** The viewer's sections for `v`, and the keyboard listener to remove when they are replaced. */
export function viewerSections(v: Viewer): { sections: HTMLElement[]; keys: (e: KeyboardEvent) => void } {
  const sections = [imageSection(v), textSection(v), explainSection(v), lensSection(v)];
  v.store.watch(['focus'], () => {
    sections[0].classList.toggle('has-keys', v.store.state.focus === 'image');
    sections[1].classList.toggle('has-keys', v.store.state.focus === 'text');
  });
  return { sections, keys: keyHandler(v) };
}
