/**
 * The explorer (`biomedclip serve`) in a real browser: Debian's Chromium (BIOMEDCLIP_CHROMIUM overrides
 * /usr/bin/chromium), driven by playwright-core, which downloads no browser of its own. `serve --demo` runs
 * as a user would start it (a child process; the URL read from its one stdout line), and the page:
 *   - on wasm, and on WebGPU (SwiftShader, Chromium's software Vulkan), saves a result whose embeddings
 *     and scores are the CLI's (`embed --json`, `classify --json`, both `--decoder js` as the page decodes);
 *   - draws each tab, walks the forward pass and switches a head off from the keyboard;
 *   - is reachable with Tab in reading order, and Enter on an example loads it;
 *   - answers bad input (a text file named .png, truncated weights, no WebGPU) with a message, not a blank page;
 *   - logs no console error and sends no request off its own 127.0.0.1 origin, in every test.
 * Screenshots of every view go to $BIOMEDCLIP_SCREENSHOTS ($TMPDIR/biomedclip-explorer-screenshots by default).
 */
// test tier: full (Chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { DEMO_LABEL } from '../src/demo/marker.js';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import { EXAMPLE_IMAGES, cli } from './helpers.js';
import {
  CHROMIUM,
  checkSource,
  close,
  dataset,
  focused,
  launch,
  open,
  ready,
  resultFor,
  startServe,
  stopServe,
  tabTo,
  walkSourceRefs,
  type Server,
} from './support/explorer-page.js';

const SHOTS = process.env.BIOMEDCLIP_SCREENSHOTS ?? path.join(os.tmpdir(), 'biomedclip-explorer-screenshots');
/** Chromium's software WebGPU: Dawn on SwiftShader's Vulkan (no GPU needed). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader'];
const LABELS = ['gland forming adenocarcinoma', 'normal lung tissue'];
const EXAMPLE = 'adenocarcinoma histopathology';
/** The page and the CLI run the same code on the same wasm backend: equal up to float32 rounding. */
const WASM_TOLERANCE = 1e-5;
/** WebGPU sums in other orders than wasm: SwiftShader measured 6.4e-6 (a logit) on the demo model; 15× room. */
const WEBGPU_TOLERANCE = 1e-4;

interface Result {
  format: string;
  model?: string;
  backend: string;
  template: string;
  images: Array<{ file: string; features: number[]; embedding: number[] }>;
  texts: Array<{ text: string; features: number[]; embedding: number[] }>;
  scores: Array<{ label: string; probability: number; logit: number }>;
}

let tmp: string;
let server: Server;
let plain: Browser;
let cliEmbed: Pick<Result, 'model' | 'images' | 'texts'>;
let cliScores: Result['scores'];
const timings: string[] = [];

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run \`apt-get install -y --no-install-recommends chromium\` (or set BIOMEDCLIP_CHROMIUM)`);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-explorer-browser-'));
  await fs.mkdir(SHOTS, { recursive: true });
  const image = EXAMPLE_IMAGES.adenocarcinoma;
  const common = ['--demo', '--json', '--backend', 'wasm', '--decoder', 'js'];
  [server, plain] = await Promise.all([startServe('--demo'), launch([])]);
  const embed = cli('embed', ...common, '--image', image, ...LABELS.flatMap((t) => ['--text', t]));
  assert.equal(embed.status, 0, embed.stderr);
  cliEmbed = JSON.parse(embed.stdout);
  const classify = cli('classify', ...common, '--labels', LABELS.join(','), image);
  assert.equal(classify.status, 0, classify.stderr);
  cliScores = JSON.parse(classify.stdout)[0].scores;
});

after(async () => {
  await plain?.close();
  await stopServe(server);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
  for (const line of timings) console.log(line);
  console.log(`screenshots: ${SHOTS}`);
});

/** Largest absolute difference between two equal-length vectors. */
function maxDiff(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
}

/** Compares a downloaded result with the CLI's numbers; prints and returns the largest difference. */
function compareWithCli(got: Result, backend: string, tolerance: number): number {
  assert.equal(got.format, 'biomedclip-ts explorer result v1');
  assert.equal(got.backend, backend);
  assert.equal(got.model, DEMO_LABEL, 'the JSON names the demo model');
  assert.equal(got.model, cliEmbed.model);
  assert.equal(got.template, 'this is a photo of {}');
  assert.equal(got.images.length, 1);
  assert.equal(got.images[0].file, path.basename(cliEmbed.images[0].file));
  assert.deepEqual(
    got.texts.map((t) => t.text),
    cliEmbed.texts.map((t) => t.text),
  );
  const diffs = {
    'image features': maxDiff(got.images[0].features, cliEmbed.images[0].features),
    'image embedding': maxDiff(got.images[0].embedding, cliEmbed.images[0].embedding),
    'text features': Math.max(...got.texts.map((t, i) => maxDiff(t.features, cliEmbed.texts[i].features))),
    'text embeddings': Math.max(...got.texts.map((t, i) => maxDiff(t.embedding, cliEmbed.texts[i].embedding))),
    probabilities: 0,
    logits: 0,
  };
  assert.deepEqual(got.scores.map((s) => s.label).sort(), cliScores.map((s) => s.label).sort());
  for (const s of got.scores) {
    const want = cliScores.find((c) => c.label === s.label)!;
    diffs.probabilities = Math.max(diffs.probabilities, Math.abs(s.probability - want.probability));
    diffs.logits = Math.max(diffs.logits, Math.abs(s.logit - want.logit));
  }
  const worst = Math.max(...Object.values(diffs));
  const detail = Object.entries(diffs)
    .map(([k, v]) => `${k} ${v.toExponential(2)}`)
    .join(', ');
  console.log(`page on ${backend} vs the CLI on wasm: max |diff| ${worst.toExponential(2)} (tolerance ${tolerance.toExponential(0)}): ${detail}`);
  for (const [k, v] of Object.entries(diffs)) assert.ok(v <= tolerance, `${k}: ${v} > ${tolerance}`);
  return worst;
}

/** Loads the example, types the labels, downloads the result and checks it against the CLI. */
async function parityRun(browser: Browser, backend: 'wasm' | 'webgpu', tolerance: number, skip: (why: string) => void): Promise<void> {
  const o = await open(browser, `${server.url}?backend=${backend}`);
  const { page } = o;
  if (backend === 'webgpu' && !(await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter())))) {
    skip(`this Chromium offers no WebGPU adapter even with ${WEBGPU_FLAGS.join(' ')}: WebGPU untested`);
    return page.close();
  }
  await ready(page);
  assert.equal(await dataset(page, 'backend'), backend);
  await page.getByRole('button', { name: EXAMPLE, exact: true }).click();
  await resultFor(page, ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology']);
  await page.getByLabel('Texts').focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.type(LABELS[0]);
  await page.keyboard.press('Enter');
  await page.keyboard.type(LABELS[1]);
  await resultFor(page, LABELS);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download result (JSON)' }).click()]);
  const got = JSON.parse(await fs.readFile((await download.path())!, 'utf8')) as Result;
  compareWithCli(got, backend, tolerance);
  const t = (await page.evaluate('window.explorerTiming')) as { readyMs: number; scoresMs: number };
  timings.push(`${backend}: model ready ${t.readyMs.toFixed(0)} ms after navigation, first scores ${t.scoresMs.toFixed(0)} ms after the image`);
  await page.screenshot({ path: path.join(SHOTS, `result-${backend}.png`), fullPage: true });
  await close(o);
}

test('wasm: the downloaded result equals `embed --json` and `classify --json` on wasm', async (t) => {
  await parityRun(plain, 'wasm', WASM_TOLERANCE, (why) => t.skip(why));
});

test('WebGPU (SwiftShader): the downloaded result matches the CLI on wasm', async (t) => {
  const browser = await launch(WEBGPU_FLAGS);
  try {
    await parityRun(browser, 'webgpu', WEBGPU_TOLERANCE, (why) => t.skip(why));
  } finally {
    await browser.close();
  }
});

test('every tab draws; the walk and head ablation work from the keyboard', async () => {
  const o = await open(plain, `${server.url}?backend=wasm`);
  const { page } = o;
  await ready(page);
  await page.getByRole('button', { name: EXAMPLE, exact: true }).click();
  await page.waitForSelector('body[data-result=ready][data-tab=attention]', { timeout: 120_000 });
  assert.ok((await page.locator('#image-tower canvas').count()) > 0, 'the image tower is drawn');
  await page.screenshot({ path: path.join(SHOTS, 'attention.png'), fullPage: true });

  // The forward pass: Enter on the tab, then Tab to "Next" and Enter, step after step.
  await page.getByRole('tab', { name: 'Forward pass, step by step' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-tab=walk]', { timeout: 120_000 });
  const refs = walkSourceRefs();
  const total = Number(/of (\d+)/.exec((await page.locator('.walk-body > p.muted').textContent())!)![1]);
  assert.ok(total >= 10, `${total} steps`);
  const seen = [await checkSource(page, refs)];
  const presses: number[] = [];
  for (let step = 2; step <= total; step++) {
    presses.push(await tabTo(page, 'button:Next →'));
    await page.keyboard.press('Enter');
    await page.waitForFunction((n) => document.querySelector('.walk-body > p.muted')?.textContent?.startsWith(`Step ${n} of`), step);
    seen.push(await checkSource(page, refs));
    if (step === 6) await page.screenshot({ path: path.join(SHOTS, 'walk.png'), fullPage: true });
  }
  console.log(`walk: ${total} steps, each with its source line:\n  ${seen.join('\n  ')}`);
  assert.equal(await page.getByRole('button', { name: 'Next →' }).isDisabled(), true, 'the last step has no next');
  assert.deepEqual(presses.slice(1), Array(total - 2).fill(0), `after Enter the focus stays on Next (Tab presses per step: ${presses})`);
  assert.equal(await focused(page), 'button:← Previous', 'at the last step the focus moves to Previous');
  await page.screenshot({ path: path.join(SHOTS, 'walk-last.png'), fullPage: true });

  // Head ablation: Tab to a head's switch, Enter, and the logits move.
  await page.getByRole('tab', { name: 'Head ablation' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-tab=ablation]');
  await page.waitForSelector('.ablation-scores tbody tr', { timeout: 60_000 });
  const head = 'image layer 0 head 1';
  await tabTo(page, `button:${head}`);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`[aria-label="${head}"][aria-pressed=true]`);
  await page.waitForFunction(() => document.querySelector('.ablation-scores .hint')?.textContent?.startsWith('1 head(s) off'), null, { timeout: 60_000 });
  const changes = await page.locator('.ablation-scores tbody tr td:nth-child(4)').allTextContents();
  console.log(`ablation of ${head}: change column ${changes.join(', ')}`);
  assert.ok(
    changes.some((c) => Number(c) !== 0),
    `the change column moved: ${changes}`,
  );
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), head, 'focus stays on the switch');
  await page.screenshot({ path: path.join(SHOTS, 'ablation.png'), fullPage: true });
  assert.equal(await dataset(page, 'error'), undefined);
  await close(o);
});

test('keyboard: Tab reaches every control in reading order; Enter on an example loads it', async () => {
  const o = await open(plain, `${server.url}?backend=wasm`);
  const { page } = o;
  await ready(page);
  const order: string[] = [];
  const press = async () => {
    await page.keyboard.press('Tab');
    order.push(await focused(page));
  };
  while (order.at(-1) !== `button:${EXAMPLE}` && order.length < 20) await press();
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-result=ready][data-tab=attention]', { timeout: 120_000 });
  assert.equal(await page.locator('.image-name').textContent(), 'adenocarcinoma_histopathology.jpg', 'Enter loaded the example');
  assert.equal(await page.locator('.drop canvas').count(), 1, 'its crop is shown');
  while (order.at(-1) !== 'tab:Head ablation' && order.length < 40) await press();
  console.log(`Tab order: ${order.join(' > ')}`);
  const want = [
    'select#backend',
    'button:Choose an image (or drop or paste one)',
    'input#image-input',
    `button:${EXAMPLE}`,
    'button:squamous cell carcinoma histopathology',
    'textarea#texts',
    'input#template',
    'button#download-result',
    'tab:Attention and explanations',
    'tab:Forward pass, step by step',
    'tab:Head ablation',
  ];
  let at = -1;
  for (const w of want) {
    const next = order.indexOf(w, at + 1);
    assert.ok(next > at, `Tab reaches ${w} after ${want[want.indexOf(w) - 1] ?? 'the page start'}: ${order.join(' > ')}`);
    at = next;
  }
  await close(o);
});

test('a file that is not an image: a message naming it, and the page stays', async () => {
  const o = await open(plain, `${server.url}?backend=wasm`);
  const { page } = o;
  await ready(page);
  await page.getByLabel('Image', { exact: true }).setInputFiles({ name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('just some text\n') });
  await page.waitForSelector('body[data-error]');
  const message = (await dataset(page, 'error'))!;
  console.log(`not an image: ${message}`);
  assert.match(message, /^x\.png: not a PNG, JPEG/);
  assert.equal(await page.getByRole('alert').textContent(), message);
  assert.ok(await page.getByLabel('Texts').isVisible(), 'the inputs are still there');
  await page.screenshot({ path: path.join(SHOTS, 'error-not-an-image.png'), fullPage: true });
  // A good image afterwards clears the message (once its bytes are fetched), then shows its scores.
  await page.getByRole('button', { name: EXAMPLE, exact: true }).click();
  await page.waitForSelector('body:not([data-error])');
  await resultFor(page, ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology']);
  assert.equal(await page.getByRole('alert').textContent(), '');
  await close(o);
});

test('truncated weights: the page says the file is damaged', async () => {
  const dir = path.join(tmp, 'truncated');
  await fs.cp(await ensureDemoModel(), dir, { recursive: true });
  const weights = path.join(dir, 'model.safetensors');
  await fs.truncate(weights, Math.floor((await fs.stat(weights)).size / 2));
  const broken = await startServe('--model', dir);
  try {
    const o = await open(plain, `${broken.url}?backend=wasm`);
    await o.page.waitForSelector('body[data-error]', { timeout: 60_000 });
    const message = (await dataset(o.page, 'error'))!;
    console.log(`truncated weights: ${message}`);
    assert.match(message, /model\.safetensors: .*truncated file.*damaged/);
    assert.equal(await o.page.getByRole('alert').textContent(), message);
    assert.ok(await o.page.getByRole('heading', { name: 'BiomedCLIP explorer' }).isVisible());
    await o.page.screenshot({ path: path.join(SHOTS, 'error-truncated.png'), fullPage: true });
    await close(o);
  } finally {
    await stopServe(broken);
  }
});

test('no WebGPU: ?backend=webgpu says to choose wasm, and choosing it recovers', async (t) => {
  const browser = await launch(['--disable-gpu', '--disable-features=WebGPU']);
  try {
    const o = await open(browser, `${server.url}?backend=webgpu`);
    const { page } = o;
    if (await page.evaluate(async () => Boolean(await navigator.gpu?.requestAdapter()))) {
      t.skip('this Chromium still offers a WebGPU adapter with --disable-gpu --disable-features=WebGPU');
      return page.close();
    }
    await page.waitForSelector('body[data-error]', { timeout: 60_000 });
    const message = (await dataset(page, 'error'))!;
    console.log(`no WebGPU: ${message}`);
    assert.match(message, /WebGPU/);
    assert.match(message, /choose wasm/);
    assert.equal(await page.getByRole('alert').textContent(), message);
    await page.screenshot({ path: path.join(SHOTS, 'error-no-webgpu.png'), fullPage: true });
    await page.getByLabel('Backend').selectOption('wasm');
    await ready(page);
    assert.equal(await dataset(page, 'backend'), 'wasm');
    assert.equal(await page.getByRole('alert').textContent(), '', 'the message goes once wasm runs');
    await page.getByRole('button', { name: EXAMPLE, exact: true }).click();
    await resultFor(page, ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology']);
    await close(o);
  } finally {
    await browser.close();
  }
});
