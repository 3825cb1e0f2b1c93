/**
 * `npm run bench:page`: what the explorer costs in a real browser. Starts `biomedclip serve` in this process
 * for each model, drives Debian's Chromium (playwright-core) through the page as a user would, and prints:
 * time to a ready page and where it goes (weights download, Cache Storage write, building the model), the
 * time from clicking an example to the scores with one text, then with one more, the attention tab after
 * each, a reload (weights from the page's cache), the peak JS heap and the renderer's peak memory; for the
 * demo model, the full-size model (random weights, as `npm run bench` makes it) and the same converted to
 * float16. Measurement only; docs/performance.md ("The explorer in the page") keeps the figures.
 *
 *   npm run bench:page -- [--skip-full] [--backend wasm|webgpu]
 */
import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { convertCheckpoint } from '../src/convert/convert.js';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import { FINGERPRINT_FILE, VOCAB_FILE, WEIGHTS_FILE } from '../src/model-files.js';
import { serve } from '../src/studio/serve.js';
import { weightsSha256 } from '../src/weights/fingerprint.js';
import { cacheCallMs, markCount, markTime, PROBE, pageState, rendererPeakBytes, waitForMark, type PageState } from './bench_page_probe.js';
import { makeRandomFullModel } from './random_model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.BIOMEDCLIP_CHROMIUM ?? '/usr/bin/chromium';
/** Where the full-size models are made once and reused (they take ~30 s and 1.2 GB to make). */
const CACHE = path.join(ROOT, '.cache', 'bench-page');
/** No single wait lasts longer: past it the figure is reported as not reached. */
const LIMIT_MS = 10 * 60_000;
const EXAMPLE = 'adenocarcinoma histopathology';
const TEXTS = ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology'];
/** Chromium's software WebGPU (SwiftShader over Vulkan): the only WebGPU a machine without a GPU has. */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];

const HELP = `Usage: npm run bench:page -- [options]

Drives the explorer page (biomedclip serve, started in this process) in Debian's Chromium and prints, for
the demo model, the full-size model (random weights) and the same as float16: time to a ready page and
where it goes, example image to scores with one text and with one more, the attention tab, a reload (weights
from the page's Cache Storage), peak JS heap and the renderer's peak resident memory. Waits end after
10 minutes and are reported as such. Needs \`npm run build\`, /usr/bin/chromium (BIOMEDCLIP_CHROMIUM
overrides) and, for the full size, Debian's python3-torch (the model is made once into .cache/bench-page/).

Options:
  --backend wasm|webgpu  the page's backend (default wasm; webgpu runs on SwiftShader here)
  --skip-full            the demo model only (seconds instead of minutes)
  --help                 this text`;

/** What one page load showed; milliseconds since navigation unless named otherwise. */
interface Load {
  readyMs?: number;
  wallMs: number;
  cached: boolean;
  weightsBytes?: number;
  /** From the weights' request to their last byte. */
  downloadMs?: number;
  cacheWriteMs?: number;
  /** Why the page could not keep the weights in Cache Storage (it goes on without). */
  cacheError?: string;
  /** Before the weights were asked for: page, scripts, backend start (wasm compile), config and vocab. */
  beforeWeightsMs?: number;
  /** From the last byte (or, cached, the cache lookup) to ready: parsing, checks, building the model. */
  afterWeightsMs?: number;
}

/** One change of the inputs: until the scores (data-result=ready), then until the attention tab is drawn. */
interface Run {
  scoresMs?: number;
  wallMs?: number;
  /** From data-result=ready to the next frame: how long the scores wait to be painted. */
  paintMs?: number;
  tabMs?: number;
}

interface Figures {
  load?: Load;
  one?: Run;
  two?: Run;
  reload?: Load;
  heapMax?: number;
  rendererPeak?: number;
  /** The renderer's peak once the model was ready, before any input. */
  loadPeak?: number;
  longestTaskMs?: number;
  /** The browser and backend as the page saw them. */
  env?: string;
  notes: string[];
}

function fail(message: string): never {
  console.error(`bench:page: error: ${message}`);
  process.exit(2);
}

function log(message: string): void {
  console.error(`bench:page: ${message}`);
}

function loadFigures(s: PageState, wallMs: number): Load {
  const cached = s.status.includes('from the page cache');
  const readyMs = s.timing.readyMs;
  const match = s.marks.filter((m) => m[0] === 'cache.match').at(-1);
  const putEnd = markTime(s, 'cache.put');
  const cacheError = s.cacheErrors.find((e) => e.startsWith('put: '))?.slice(5);
  const load: Load = { readyMs, wallMs, cached, cacheWriteMs: cacheCallMs(s, 'cache.put'), cacheError };
  if (s.weights && !cached) {
    load.weightsBytes = s.weights.bytes;
    load.downloadMs = s.weights.end - s.weights.start;
    load.beforeWeightsMs = s.weights.start;
    if (readyMs !== undefined) load.afterWeightsMs = readyMs - Math.max(s.weights.end, putEnd ?? 0);
  } else if (cached && match) {
    load.beforeWeightsMs = match[1];
    if (readyMs !== undefined) load.afterWeightsMs = readyMs - match[1];
  }
  return load;
}

/** Navigates (or reloads) and waits for data-model=ready. */
async function load(page: Page, go: () => Promise<unknown>, f: Figures, what: string): Promise<Load | undefined> {
  const t0 = Date.now();
  await go();
  if (!(await waitForMark(page, 'model=ready', 1, LIMIT_MS))) return void f.notes.push(`${what}: not ready after 10 min`);
  return loadFigures(await pageState(page), Date.now() - t0);
}

/** Does `act` (a click, typing) and times the run it starts, then the attention tab it draws. */
async function measureRun(page: Page, act: () => Promise<unknown>, f: Figures, what: string): Promise<Run | undefined> {
  const [ready, pending, tab] = await Promise.all(['result=ready', 'result=pending', 'tab=attention'].map((m) => markCount(page, m)));
  // In the page's clock: Playwright's click returns only once the page's busy main thread takes the event.
  const t0 = (await page.evaluate('performance.now()')) as number;
  await act();
  if (!(await waitForMark(page, 'result=ready', ready + 1, LIMIT_MS))) return void f.notes.push(`${what}: no scores after 10 min`);
  const s = await pageState(page);
  const done = markTime(s, 'result=ready', ready)!;
  const run: Run = { wallMs: done - t0, scoresMs: done - markTime(s, 'result=pending', pending)! };
  // The tab's work runs on the same cores: the next measurement waits for it, and times it on the way.
  if (!(await waitForMark(page, 'tab=attention', tab + 1, LIMIT_MS))) {
    f.notes.push(`${what}: attention tab not drawn after 10 min`);
    return run;
  }
  const after = await pageState(page);
  run.tabMs = markTime(after, 'tab=attention', tab)! - done;
  run.paintMs = markTime(after, 'result=ready painted', ready)! - done;
  return run;
}

/** One fresh Chromium profile (empty Cache Storage) through the page at `url`. */
async function drive(url: string, backend: string, opts: { runs: boolean; reload: boolean }): Promise<Figures> {
  const profile = mkdtempSync(path.join(tmpdir(), 'biomedclip-bench-page-'));
  const args = ['--no-sandbox', ...(backend === 'webgpu' ? WEBGPU_FLAGS : [])];
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args, viewport: { width: 1280, height: 1000 } });
  const f: Figures = { notes: [] };
  try {
    await context.addInitScript({ content: PROBE });
    const page = context.pages()[0] ?? (await context.newPage());
    f.load = await load(page, () => page.goto(`${url}?backend=${backend}`), f, 'first load');
    f.loadPeak = rendererPeakBytes(profile);
    if (f.load && opts.runs) {
      await page.fill('#texts', TEXTS[0]);
      await page.waitForTimeout(700); // past the texts box's 400 ms debounce: no image yet, so nothing runs
      const example = page.getByRole('button', { name: EXAMPLE, exact: true });
      f.one = await measureRun(page, () => example.click(), f, 'one text');
      if (f.one?.tabMs !== undefined) f.two = await measureRun(page, () => page.fill('#texts', TEXTS.join('\n')), f, 'two texts');
    }
    if (f.load) {
      const seen = await page.evaluate(
        `'the page runs ' + document.body.dataset.backend + ', sees ' + navigator.hardwareConcurrency + ' cores, ' + (crossOriginIsolated ? 'cross-origin isolated' : 'not isolated')`,
      );
      f.env = `Chromium ${context.browser()?.version() ?? '?'} headless, ${seen as string}`;
      const s = await pageState(page);
      f.heapMax = s.heapMax || undefined;
      f.longestTaskMs = s.longestTask || undefined;
      f.rendererPeak = rendererPeakBytes(profile);
    }
    if (f.load && opts.reload) f.reload = await load(page, () => page.reload(), f, 'reload');
    return f;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The full-size random-weight model (f32, with a fingerprint as `convert` writes, so the page caches it) and its f16 twin. */
async function fullModels(): Promise<{ f32: string; f16: string }> {
  const f32 = path.join(CACHE, 'full-f32');
  const f16 = path.join(CACHE, 'full-f16');
  if (!existsSync(path.join(f32, WEIGHTS_FILE)) || !existsSync(path.join(f32, VOCAB_FILE))) {
    log('making the full-size random-weight model with the PyTorch reference (once; reused from .cache/bench-page)...');
    const partial = `${f32}.partial`;
    rmSync(partial, { recursive: true, force: true });
    makeRandomFullModel(partial, { vocab: true });
    rmSync(f32, { recursive: true, force: true });
    renameSync(partial, f32);
  }
  if (!existsSync(path.join(f32, FINGERPRINT_FILE))) await weightsSha256(f32); // writes fingerprint.json
  if (!existsSync(path.join(f16, FINGERPRINT_FILE))) {
    log('converting it to float16 (once)...');
    await convertCheckpoint({ checkpoint: path.join(f32, WEIGHTS_FILE), outDir: f16, dtype: 'f16' });
  }
  return { f32, f16 };
}

async function measure(modelDir: string, backend: string, opts: { runs: boolean; reload: boolean }): Promise<Figures> {
  const server = await serve({ modelDir, port: 0, host: '127.0.0.1' });
  try {
    return await drive(server.url, backend, opts);
  } finally {
    await server.close();
  }
}

const s = (ms: number | undefined) => (ms === undefined ? '-' : ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`);
const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(1)} MB`);

/** The figures as a markdown table, one column per model. */
function table(columns: Array<[string, Figures]>): string {
  const rows: Array<[string, (f: Figures) => string]> = [
    ['page ready (explorerTiming.readyMs)', (f) => s(f.load?.readyMs)],
    ['  wall time from navigation', (f) => s(f.load?.wallMs)],
    ['  before the weights (page, backend, config, vocab)', (f) => s(f.load?.beforeWeightsMs)],
    ['  weights downloaded', (f) => (f.load?.weightsBytes === undefined ? '-' : `${mb(f.load.weightsBytes)} in ${s(f.load.downloadMs)}`)],
    ['  written to Cache Storage', (f) => (f.load?.cacheError ? `failed (${f.load.cacheError})` : s(f.load?.cacheWriteMs))],
    ['  after the weights (parse, check, build)', (f) => s(f.load?.afterWeightsMs)],
    ['example to scores, one text (scoresMs)', (f) => s(f.one?.scoresMs)],
    ['  from the click (fetching the example too)', (f) => s(f.one?.wallMs)],
    ['  scores painted (next frame)', (f) => (f.one?.paintMs === undefined ? '-' : `${s(f.one.paintMs)} later`)],
    ['  then the attention tab', (f) => s(f.one?.tabMs)],
    ['scores again with one more text', (f) => s(f.two?.scoresMs)],
    ['  then the attention tab', (f) => s(f.two?.tabMs)],
    ['reload: page ready, weights from Cache Storage', (f) => (f.reload ? `${s(f.reload.readyMs)}${f.reload.cached ? '' : ' (not from the cache)'}` : '-')],
    ['  cache read and build', (f) => s(f.reload?.afterWeightsMs)],
    ['peak JS heap (performance.memory, sampled)', (f) => mb(f.heapMax)],
    ["renderer's peak resident memory (VmHWM), model ready", (f) => mb(f.loadPeak)],
    ['  after the runs above', (f) => mb(f.rendererPeak)],
    ['longest main-thread task', (f) => s(f.longestTaskMs)],
  ];
  return [
    `| | ${columns.map(([name]) => name).join(' | ')} |`,
    `|---|${columns.map(() => '---').join('|')}|`,
    ...rows.map(([what, cell]) => `| ${what} | ${columns.map(([, f]) => cell(f)).join(' | ')} |`),
  ].join('\n');
}

function options() {
  try {
    return parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, 'skip-full': { type: 'boolean' }, help: { type: 'boolean' } } }).values;
  } catch (err) {
    fail(`${(err as Error).message.split('\n')[0]}; see npm run bench:page -- --help`);
  }
}

async function main(): Promise<void> {
  const values = options();
  if (values.help) return console.log(HELP);
  const backend = values.backend!;
  if (backend !== 'wasm' && backend !== 'webgpu') fail(`--backend ${backend}: expected wasm or webgpu`);
  if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (or set BIOMEDCLIP_CHROMIUM)`);
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'studio', 'page', 'index.html'))) fail('the explorer page is not built: run npm run build');
  const columns: Array<[string, Figures]> = [];
  log('demo model...');
  columns.push(['demo model', await measure(await ensureDemoModel(), backend, { runs: true, reload: true })]);
  if (!values['skip-full']) {
    const { f32, f16 } = await fullModels();
    log('full size, float32 (minutes on a small CPU)...');
    columns.push(['full size, f32', await measure(f32, backend, { runs: true, reload: true })]);
    log('full size, float16...');
    columns.push(['full size, f16', await measure(f16, backend, { runs: false, reload: true })]);
  }
  console.log(`explorer page, ?backend=${backend}: ${columns[0][1].env ?? 'page never ready'}`);
  console.log(table(columns));
  for (const [name, f] of columns) for (const n of f.notes) console.log(`${name}: ${n}`);
}

await main();
