/**
 * The page's start: read the embedded data, decode the texts' attention and the first image's (the other
 * images' when first shown), build the sections, and wire the keyboard. `window.viewerTiming` records
 * when the first image was drawn and when the whole page was (the browser tests report both).
 */

/** The keys, as the header shows them: [keys, what they do]. */
const KEYS_HELP: Array<[string[], string]> = [
  [['↑', '↓'], 'layer'],
  [['←', '→'], 'head'],
  [['m'], 'head mean'],
  [['c'], '[CLS] as query'],
  [['Esc'], 'unpin'],
  [['[', ']'], 'previous / next image'],
];

/** Image i's attention, decoded once: a second caller while it decodes waits for the same work. */
const decoding = new Map<number, Promise<DecodedImage>>();

function decodeImage(i: number): Promise<DecodedImage> {
  if (!decoding.has(i)) {
    decoding.set(
      i,
      readAttention(viewer.data.images[i].attention).then((attention) => (viewer.images[i] = { crop: viewer.crops[i], attention })),
    );
  }
  return decoding.get(i)!;
}

async function selectImage(i: number): Promise<void> {
  if (i < 0 || i >= viewer.data.images.length) return;
  document.body.classList.add('busy');
  await decodeImage(i);
  document.body.classList.remove('busy');
  update({ image: i });
}

function pageHeader(): HTMLElement {
  const { data } = viewer;
  const v = data.model.vision;
  const t = data.model.text;
  const strip = h('nav', { class: 'strip', 'aria-label': 'images' });
  data.images.forEach((img, i) => {
    const thumb = hiDpiCanvas(56, 56);
    thumb.getContext('2d')!.drawImage(viewer.crops[i], 0, 0, 56, 56);
    const top = img.scores?.[0];
    strip.append(
      h(
        'button',
        { type: 'button', class: 'strip-item', 'data-index': i, title: img.name, onclick: () => selectImage(i) },
        thumb,
        h('span', { class: 'strip-name' }, baseName(img.name)),
        top ? h('span', { class: 'muted' }, `${top.label} ${(100 * top.probability).toFixed(0)}%`) : null,
      ),
    );
  });
  watch(['image'], () => strip.querySelectorAll('.strip-item').forEach((b, i) => b.setAttribute('aria-current', String(i === viewer.state.image))));
  return h(
    'header',
    { class: 'page-head' },
    h('div', { class: 'title-row' }, h('h1', {}, 'BiomedCLIP attention'), downloadButton()),
    h(
      'p',
      { class: 'muted', title: data.model.dir },
      `model ${data.model.dir.split(/[\\/]/).filter(Boolean).pop()} · image tower ${v.layers} × ${v.heads} heads · text tower ${t.layers} × ${t.heads} heads · ${data.images.length} image(s), ${data.texts.length} text(s)`,
    ),
    data.model.warning ? h('p', { class: 'warning', role: 'alert' }, `⚠ ${data.model.warning}`) : null,
    data.images.length > 1 ? strip : null,
    h(
      'p',
      { class: 'keys' },
      'Keys (for the tower under the pointer): ',
      ...KEYS_HELP.flatMap(([keys, what], i) => [...keys.map((k) => h('kbd', {}, k)), ` ${what}${i < KEYS_HELP.length - 1 ? ' · ' : ''}`]),
    ),
  );
}

function pageFooter(): HTMLElement {
  const total = viewer.data.cost.reduce((s, c) => s + c.bytes, 0);
  const rows = viewer.data.cost.map((c) => h('tr', {}, h('td', {}, c.part), h('td', { class: 'num' }, `${(c.bytes / 1e6).toFixed(2)} MB`)));
  return h(
    'footer',
    { class: 'page-foot' },
    h('h2', {}, 'What this file holds'),
    h(
      'p',
      { class: 'muted' },
      'Attention is stored as 8 bits per value with a float32 maximum per row (each value within row max / 510), gzipped, base64: about a third of float32. Nothing is fetched: the data, script and style are all in this file.',
    ),
    h('table', { class: 'cost' }, ...rows, h('tr', { class: 'total' }, h('td', {}, 'total'), h('td', { class: 'num' }, `${(total / 1e6).toFixed(2)} MB`))),
    h('p', { class: 'muted' }, 'Written by biomedclip-ts `biomedclip view` (docs/viewer.md).'),
  );
}

function onKey(e: KeyboardEvent): void {
  if (e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
  const s = viewer.state;
  const image = s.focus === 'image';
  const tower = image ? viewer.data.model.vision : viewer.data.model.text;
  const layer = image ? s.layer : s.textLayer;
  const head = image ? s.head : s.textHead;
  const set = (l: number, hd: number) => update(image ? { layer: l, head: hd } : { textLayer: l, textHead: hd });
  const clamp = (l: number) => Math.min(tower.layers - 1, Math.max(0, l));
  const actions: Record<string, () => void> = {
    ArrowUp: () => set(clamp(layer - 1), head),
    ArrowDown: () => set(clamp(layer + 1), head),
    ArrowLeft: () => set(layer, stepHead(head, tower.heads, -1)),
    ArrowRight: () => set(layer, stepHead(head, tower.heads, +1)),
    m: () => set(layer, head < 0 ? 0 : -1),
    c: () => update({ query: 0, pinned: true }),
    Escape: () => update({ query: 0, pinned: false }),
    '[': () => void selectImage(s.image - 1),
    ']': () => void selectImage(s.image + 1),
  };
  const action = actions[e.key];
  if (!action) return;
  e.preventDefault();
  // A button clicked earlier keeps its focus ring and would look selected after the keys moved on.
  if (document.activeElement instanceof HTMLButtonElement) document.activeElement.blur();
  action();
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
  viewer.data = data;
  viewer.lut = readLut(data);
  const size = data.model.vision.imageSize;
  viewer.crops = await Promise.all(data.images.map(async (img) => cropCanvas(await readBlock(img.crop.id, img.crop.bytes), size)));
  await decodeImage(0);
  viewer.state = {
    image: 0,
    query: 0,
    pinned: false,
    layer: data.model.vision.layers - 1,
    head: -1,
    textLayer: data.model.text.layers - 1,
    textHead: -1,
    textQuery: null,
    focus: 'image',
    opacity: 0.8,
    smooth: false,
    scale: 'range',
  };
  const app = document.getElementById('app')!;
  app.replaceChildren(pageHeader(), imageSection());
  document.addEventListener('keydown', onKey);
  await painted();
  const timing = { firstImageMs: performance.now(), readyMs: 0 };
  viewer.texts = await Promise.all(data.texts.map((t) => readAttention(t.attention)));
  app.append(textSection(), explainSection(), lensSection(), pageFooter());
  watch(['focus'], () => {
    document.getElementById('image-tower')!.classList.toggle('has-keys', viewer.state.focus === 'image');
    document.getElementById('text-tower')!.classList.toggle('has-keys', viewer.state.focus === 'text');
  });
  await painted();
  timing.readyMs = performance.now();
  (window as unknown as { viewerTiming: typeof timing }).viewerTiming = timing;
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
