/**
 * The viewer page's start (the bundle's entry): read the embedded data (decode.ts), decode the crops and
 * the first image's attention, fill the `Viewer` the sections draw from, build the sections, wire the
 * keyboard, then decode the texts' attention and the other images'. `window.viewerTiming` records when
 * the first image was drawn and when the whole page was (the browser tests report both): with
 * `document.body.dataset.ready` it is all this script puts where the page's other code can see it.
 */
import type { PageData } from '../contract.js';
import { readAttention, readBlock, readLut, readPageData } from './decode.js';
import { cropCanvas, h } from './draw.js';
import { explainSection } from './explain-view.js';
import { imageSection } from './image-view.js';
import { keyHandler } from './keys.js';
import { lensSection } from './lens-view.js';
import { pageFooter, pageHeader } from './page-frame.js';
import { initialState, Store, type ShownImage, type Viewer } from './state.js';
import { textSection } from './text-view.js';

interface ViewerTiming {
  /** performance.now() when the first image was painted, and when the whole page was. */
  firstImageMs: number;
  readyMs: number;
}

declare global {
  interface Window {
    viewerTiming?: ViewerTiming;
  }
}

/**
 * The page's `Viewer`, with the first image's attention decoded, and how to decode image i's: once, a
 * second caller while it decodes waits for the same work. The texts' attention is left to `boot`.
 */
async function pageViewer(data: PageData): Promise<{ v: Viewer; decodeImage: (i: number) => Promise<void> }> {
  const size = data.model.vision.imageSize;
  const crops = await Promise.all(data.images.map(async (img) => cropCanvas(await readBlock(img.crop.id, img.crop.bytes), size)));
  const images: ShownImage[] = data.images.map((img, i) => ({ name: img.name, crop: crops[i], lens: img.lens, scores: img.scores }));
  const decoding = new Map<number, Promise<void>>();
  const decodeImage = (i: number): Promise<void> => {
    let done = decoding.get(i);
    if (!done) {
      done = readAttention(data.images[i].attention).then((attention) => {
        images[i].attention = attention;
      });
      decoding.set(i, done);
    }
    return done;
  };
  await decodeImage(0);
  const v: Viewer = {
    model: data.model,
    lut: readLut(data),
    methods: data.methods,
    images,
    texts: data.texts.map((t) => ({ text: t.text, tokens: t.tokens })),
    explanations: data.explanations,
    store: new Store(initialState(data.model)),
    showImage: async (i) => {
      if (i < 0 || i >= images.length) return;
      document.body.classList.add('busy');
      await decodeImage(i);
      document.body.classList.remove('busy');
      v.store.update({ image: i });
    },
  };
  return { v, decodeImage };
}

/** Resolves after the browser has painted what the DOM holds now (the first frame runs before the paint). */
function painted(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));
}

/**
 * The image tower first, drawn as soon as its data is decoded (the other images' blocks may still be
 * parsing); then the texts' sections. `viewerTiming` records both moments.
 */
async function boot(): Promise<void> {
  const data = readPageData();
  const { v, decodeImage } = await pageViewer(data);
  const app = document.getElementById('app')!;
  app.replaceChildren(pageHeader(v), imageSection(v));
  document.addEventListener('keydown', keyHandler(v));
  await painted();
  const timing: ViewerTiming = { firstImageMs: performance.now(), readyMs: 0 };
  const textAttention = await Promise.all(data.texts.map((t) => readAttention(t.attention)));
  textAttention.forEach((attention, j) => (v.texts[j].attention = attention));
  app.append(textSection(v), explainSection(v), lensSection(v), pageFooter(data.cost));
  v.store.watch(['focus'], () => {
    document.getElementById('image-tower')!.classList.toggle('has-keys', v.store.state.focus === 'image');
    document.getElementById('text-tower')!.classList.toggle('has-keys', v.store.state.focus === 'text');
  });
  await painted();
  timing.readyMs = performance.now();
  window.viewerTiming = timing;
  document.body.dataset.ready = 'true';
  // The other images are decoded while the reader looks at the first, so switching to them is instant.
  for (let i = 1; i < data.images.length; i++) {
    await new Promise((resolve) => ('requestIdleCallback' in window ? requestIdleCallback(resolve) : setTimeout(resolve, 50)));
    await decodeImage(i);
  }
}

boot().catch((err: unknown) => {
  document.getElementById('app')!.replaceChildren(h('p', { class: 'warning' }, `The viewer could not start: ${String(err)}`));
  throw err;
});
