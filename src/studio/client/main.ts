/**
 * The explorer's start: load the model into the page (session.ts), then keep the results in step with the
 * inputs: the zero-shot scores and embeddings first (what `classify` and `embed` print), then, for the tab
 * that is open, every head's attention with the explanation maps and the logit lens (the viewer's
 * sections), the forward pass step by step, or live head ablation. Anything that fails is a message in the
 * page, never a blank page. `?model=URL/` and `?backend=webgpu|wasm|cpu` choose other than the defaults.
 */
import { PAGE_BACKENDS, type PageBackend } from '../../backends/client/page.js';
import { DEMO_WARNING } from '../../demo/marker.js';
import { cropCanvas, h } from '../../view/client/draw.js';
import { ablationPanel } from './ablation.js';
import { inputsPanel, type InputState } from './inputs.js';
import { liveViewer, viewerSections } from './live-view.js';
import { computeResult, type ExplorerResult } from '../result.js';
import { downloadResultButton, scoresTable } from './result.js';
import { closeSession, openSession, type Session } from './session.js';
import { walkthrough } from '../walk.js';
import { walkPanel } from './walk-view.js';
import { preprocessImage } from '../../image/index.js';
import { overlayColormap } from '../../view/data.js';

type Tab = 'attention' | 'walk' | 'ablation';
const TABS: Array<[Tab, string]> = [
  ['attention', 'Attention and explanations'],
  ['walk', 'Forward pass, step by step'],
  ['ablation', 'Head ablation'],
];
const DEFAULT_TEXTS = ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology'];
const DEFAULT_TEMPLATE = 'this is a photo of {}';

interface ExplorerTiming {
  /** performance.now() when the model was ready; fetching (or reading the cache) and building it, in ms. */
  readyMs?: number;
  fetchMs?: number;
  buildMs?: number;
  /** From the first image's input to its scores, in ms. */
  scoresMs?: number;
}

/**
 * Lets the browser paint and take input before the next long computation. On wasm every tensor read
 * resolves at once, so a chain of awaits never returns to the event loop: without this the page froze for
 * the whole attention tab (29-53 s at full size, npm run bench:page) with the scores already computed.
 */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}
declare global {
  interface Window {
    explorerTiming?: ExplorerTiming;
  }
}

const params = new URLSearchParams(location.search);
const modelBase = new URL(params.get('model') ?? 'model/', location.href).href;
const status = h('p', { class: 'status', role: 'status' });
const alertBox = h('div', { class: 'alerts', role: 'alert' });
const progress = h('progress', { max: 1, value: 0, 'aria-label': 'Loading the weights' }) as HTMLProgressElement;
const results = h('section', { class: 'panel results', 'aria-labelledby': 'results-title' });
const tabBar = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Views' });
const tabBody = h('div', { class: 'tab-body', role: 'tabpanel' });
const timing: ExplorerTiming = (window.explorerTiming = {});

let session: Session | undefined;
let inputs: ReturnType<typeof inputsPanel> | undefined;
let result: ExplorerResult | undefined;
let tab: Tab = 'attention';
/** Increases with every change of the inputs: work for older inputs is dropped when it ends. */
let version = 0;
let removeKeys: (() => void) | undefined;

function showError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  alertBox.replaceChildren(h('p', { class: 'warning' }, message));
  document.body.dataset.error = message;
  document.body.classList.remove('busy');
}

/** No message on screen or in body[data-error]: a new attempt is under way. */
function clearError(): void {
  alertBox.replaceChildren();
  delete document.body.dataset.error;
}

/** An image that cannot be read, named by its file (the decoders only see bytes, "<image bytes>"). */
function imageError(err: unknown, name: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  return new Error(message.startsWith('<image bytes>') ? name + message.slice('<image bytes>'.length) : `${name}: ${message}`, { cause: err });
}

function setStatus(text: string): void {
  status.textContent = text;
}

/** The tab's content for the current inputs, computed when the tab is shown. */
async function showTab(next: Tab): Promise<void> {
  tab = next;
  tabBar.querySelectorAll('button').forEach((b) => b.setAttribute('aria-selected', String(b.dataset.tab === tab)));
  const s = session;
  const state = inputs?.state;
  if (!s || !state?.image || state.texts.length === 0)
    return void tabBody.replaceChildren(h('p', { class: 'muted' }, 'Choose an image and type at least one text.'));
  const mine = version;
  removeKeys?.();
  removeKeys = undefined;
  tabBody.replaceChildren(h('p', { class: 'muted' }, 'Computing…'));
  document.body.classList.add('busy');
  await yieldToPage();
  const image = state.image;
  let content: HTMLElement[];
  if (next === 'attention') {
    const v = await liveViewer(s.clip, {
      image,
      labels: state.texts,
      template: state.template,
      onProgress: (d, t) => setStatus(`attention and explanations: ${d}/${t}`),
      pause: yieldToPage,
    });
    if (mine !== version || tab !== next) return;
    const { sections, keys } = viewerSections(v);
    document.addEventListener('keydown', keys);
    removeKeys = () => document.removeEventListener('keydown', keys);
    content = sections;
  } else if (next === 'walk') {
    const steps = await walkthrough(s.clip, { image: image.bytes, texts: state.texts });
    if (mine !== version || tab !== next) return;
    const first = steps[0].draw; // the walk's own first step is the crop: no second decode for the picture
    if (first.kind !== 'crop') throw new Error('internal: the walk starts with the crop');
    content = [walkPanel(steps, overlayColormap().lut, cropCanvas(first.rgb, first.size))];
  } else {
    content = [ablationPanel(s.clip, image, state.texts, state.template, showError)];
  }
  tabBody.replaceChildren(...content);
  document.body.classList.remove('busy');
  document.body.dataset.tab = next;
  setStatus(`ready · ${s.backend.name} (${s.backend.detail})`);
}

/** Reruns everything for the current inputs. */
async function run(state: InputState): Promise<void> {
  const s = session;
  if (!s || !state.image || state.texts.length === 0) return void (results.hidden = true);
  const mine = ++version;
  document.body.dataset.result = 'pending';
  document.body.classList.add('busy');
  clearError();
  const t0 = performance.now();
  const image = state.image;
  const { crop } = await preprocessImage(image.bytes, s.config.preprocess).catch((err: unknown) => {
    // No scores or views of the previous image beside this one's name: they would pass for its results.
    if (mine === version) {
      results.hidden = true;
      result = undefined;
      inputs?.showCrop(null);
      tabBody.replaceChildren(h('p', { class: 'muted' }, 'Choose an image the model can read.'));
    }
    throw imageError(err, image.name);
  });
  inputs?.showCrop(cropCanvas(crop, s.config.preprocess.imageSize));
  const r = await computeResult(s.clip, s.backend.name, image, state.texts, state.template);
  if (mine !== version) return;
  result = r;
  timing.scoresMs ??= performance.now() - t0;
  results.hidden = false;
  results.replaceChildren(
    h(
      'div',
      { class: 'panel-head' },
      h('h2', { id: 'results-title' }, 'Zero-shot scores'),
      downloadResultButton(() => result),
    ),
    h('p', { class: 'hint' }, `"${state.template}" with each label; ${r.images[0].file}; computed in this page on ${s.backend.name}`),
    scoresTable(r.scores),
  );
  document.body.dataset.result = 'ready';
  await yieldToPage(); // the scores are painted before the tab's work starts
  await showTab(tab);
}

function onInputs(state: InputState): void {
  run(state).catch(showError);
}

/**
 * The backend chooser's failure (usePageBackend's "no backend could start: …") when WebGPU was asked
 * for, with the way out: wasm runs in every browser. Other failures (the weights, say) pass as they are.
 */
function withBackendHint(err: unknown, backend: PageBackend | 'auto'): unknown {
  const message = err instanceof Error ? err.message : String(err);
  const prefix = 'no backend could start: ';
  if (backend !== 'webgpu' || !message.startsWith(prefix)) return err;
  const reason = message.slice(prefix.length);
  return new Error(`WebGPU is not available in this browser (${reason}); choose wasm in the Backend menu above, or open the page with ?backend=wasm`, {
    cause: err,
  });
}

async function load(backend: PageBackend | 'auto'): Promise<void> {
  if (session) closeSession(session);
  session = undefined;
  document.body.dataset.model = 'loading';
  clearError();
  setStatus('Loading the model…');
  progress.hidden = false;
  session = await openSession({
    modelBase,
    wasmBase: new URL('tfjs/', location.href).href,
    backend,
    onProgress: (loaded, total) => {
      progress.max = total ?? loaded;
      progress.value = loaded;
      setStatus(`Loading the weights: ${(loaded / 1e6).toFixed(1)}${total ? ` of ${(total / 1e6).toFixed(1)}` : ''} MB`);
    },
  }).catch((err: unknown) => {
    progress.hidden = true;
    setStatus('The model did not load.');
    throw withBackendHint(err, backend);
  });
  progress.hidden = true;
  timing.readyMs = performance.now();
  timing.fetchMs = session.timing.fetch;
  timing.buildMs = session.timing.build;
  document.body.dataset.model = 'ready';
  document.body.dataset.backend = session.backend.name;
  setStatus(
    `ready · ${session.backend.name} (${session.backend.detail}) · weights ${(session.weightBytes / 1e6).toFixed(1)} MB${session.cached ? ' from the page cache' : ''}`,
  );
}

async function boot(): Promise<void> {
  const app = document.getElementById('app')!;
  const chooser = h(
    'select',
    { id: 'backend' },
    h('option', { value: 'auto' }, 'best available'),
    ...PAGE_BACKENDS.map((b) => h('option', { value: b }, b)),
  ) as HTMLSelectElement;
  chooser.value = params.get('backend') ?? 'auto';
  chooser.addEventListener('change', () => {
    // After a first load that failed (no WebGPU, say), the inputs were never built: build them now.
    load(chooser.value as PageBackend | 'auto')
      .then(() => (inputs ? onInputs(inputs.state) : showInputs(app)))
      .catch(showError);
  });
  TABS.forEach(([id, label]) =>
    tabBar.append(h('button', { type: 'button', role: 'tab', 'data-tab': id, onclick: () => showTab(id).catch(showError) }, label)),
  );
  results.hidden = true;
  app.replaceChildren(
    h(
      'header',
      { class: 'page-head' },
      h(
        'div',
        { class: 'title-row' },
        h('h1', {}, 'BiomedCLIP explorer'),
        h('span', { class: 'backend-choice' }, h('label', { for: 'backend' }, 'Backend'), ' ', chooser),
      ),
      h('p', { class: 'muted' }, `The model runs in this page: model ${modelBase}`),
      status,
      progress,
      alertBox,
    ),
  );
  await load(chooser.value as PageBackend | 'auto');
  await showInputs(app);
}

/** The inputs, the scores and the tabs, once a model is loaded. */
async function showInputs(app: HTMLElement): Promise<void> {
  if (session!.clip.isDemo) app.querySelector('.page-head')!.append(h('p', { class: 'warning' }, `⚠ ${DEMO_WARNING}`));
  const examples = (await fetch('examples/index.json').then(
    (r) => (r.ok ? r.json() : []),
    () => [],
  )) as string[];
  inputs = inputsPanel(
    { texts: DEFAULT_TEXTS, template: DEFAULT_TEMPLATE, examples, examplesBase: new URL('examples/', location.href).href },
    onInputs,
    showError,
  );
  app.append(inputs.element, results, h('section', { class: 'panel views' }, tabBar, tabBody));
  await showTab(tab);
}

window.addEventListener('error', (e) => showError(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => showError(e.reason));
boot().catch(showError);
