/**
 * The viewer page in a real browser: Debian's Chromium (BIOMEDCLIP_CHROMIUM overrides /usr/bin/chromium),
 * driven by playwright-core, which downloads no browser of its own. The page opens from a file URL with no
 * console error and no request but its own file; hovering patches, changing layer or head, keyboard keys
 * and clicks on the model view change what the canvases show (compared pixel by pixel); the head views
 * draw lines whose weights are attention rows; the downloaded JSON follows the other commands' contracts
 * and holds the model's attention to the 8-bit bound. Screenshots go to $TMPDIR/biomedclip-view-screenshots;
 * the time to the first drawn image of a page with 4 full-size images is printed, not asserted.
 */
// test tier: full (Chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { command as viewCommand } from '../src/cli/commands/view.js';
import { DEMO_CONFIG, ensureDemoModel, writeDemoModel } from '../src/demo/demo-model.js';
import { attentionPoint } from '../src/inspect/probe.js';
import { buildPage } from '../src/view/page.js';
import { fullSizeView } from './support/view-fixtures.js';
import { SHARED_DIR, runCommand } from './helpers.js';

const CHROMIUM = process.env.BIOMEDCLIP_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(os.tmpdir(), 'biomedclip-view-screenshots');
const IMAGES = ['01_squamous_cell_carcinoma_histopathology.jpeg', '05_brain_MRI_gray_noAPP0.jpg'].map((f) => path.join(SHARED_DIR, 'data', 'images', f));
const TEXTS = ['squamous cell carcinoma with keratin pearls', 'normal brain tissue'];

let tmp: string;
let browser: Browser;
let demoPage: string;

before(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run \`apt-get install -y --no-install-recommends chromium\` (or set BIOMEDCLIP_CHROMIUM)`);
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-view-browser-'));
  await fs.mkdir(SHOTS, { recursive: true });
  demoPage = path.join(tmp, 'demo.html');
  const r = await runCommand(viewCommand, [
    ...IMAGES,
    '--demo',
    '--backend',
    'cpu',
    ...TEXTS.flatMap((t) => ['--text', t]),
    '--labels',
    'squamous cell carcinoma,adenocarcinoma,normal brain',
    '--out',
    demoPage,
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.err);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await fs.rm(tmp, { recursive: true, force: true });
  console.log(`screenshots: ${SHOTS}`);
});

interface Opened {
  page: Page;
  errors: string[];
  requests: string[];
  /** Milliseconds from navigation to the first image drawn, and to the whole page. */
  timing: { firstImageMs: number; readyMs: number };
}

/** Opens a page file and waits until the viewer has drawn its first image. */
async function open(file: string, viewport = { width: 1280, height: 900 }): Promise<Opened> {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1, acceptDownloads: true });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  const timing = (await page.evaluate('window.viewerTiming')) as Opened['timing'];
  return { page, errors, requests, timing };
}

/** RGBA pixels of an element's screenshot. */
async function pixels(page: Page, selector: string): Promise<Buffer> {
  return PNG.sync.read(await page.locator(selector).screenshot()).data;
}

/** Fraction of bytes that differ between two screenshots of the same element. */
function changed(a: Buffer, b: Buffer): number {
  assert.equal(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n / a.length;
}

/** Moves the pointer to the centre of patch (r, c) of the main canvas. */
async function hoverPatch(page: Page, r: number, c: number): Promise<void> {
  const box = (await page.locator('#image-canvas').boundingBox())!;
  await page.mouse.move(box.x + ((c + 0.5) * box.width) / 14, box.y + ((r + 0.5) * box.height) / 14);
}

const pressed = (page: Page, group: string, within = '#image-tower') => page.locator(`${within} [aria-label=${group}] [aria-pressed=true]`).textContent();

test('opens from a file URL with no console error and no request but the file itself', async () => {
  const { page, errors, requests, timing } = await open(demoPage);
  await page.waitForTimeout(200);
  assert.deepEqual(errors, []);
  assert.deepEqual(requests, [pathToFileURL(demoPage).href]);
  assert.equal(await page.locator('#image-tower').count(), 1);
  assert.match((await page.locator('.warning').textContent())!, /random weights/);
  console.log(
    `demo page (2 images, 2 texts, ${(readFileSync(demoPage).length / 1e6).toFixed(2)} MB): first image drawn after ${timing.firstImageMs.toFixed(0)} ms, the whole page after ${timing.readyMs.toFixed(0)} ms`,
  );
  await page.screenshot({ path: path.join(SHOTS, 'demo.png'), fullPage: true });
  await page.close();
});

test('hovering two patches gives two overlays; the same patch gives the same pixels', async () => {
  const { page } = await open(demoPage);
  await hoverPatch(page, 3, 4);
  const a = await pixels(page, '#image-canvas');
  assert.equal(await page.locator('#query-name').textContent(), 'patch (3, 4)');
  await hoverPatch(page, 10, 9);
  const b = await pixels(page, '#image-canvas');
  await hoverPatch(page, 3, 4);
  const again = await pixels(page, '#image-canvas');
  console.log(`pixels changed between patch (3, 4) and (10, 9): ${(100 * changed(a, b)).toFixed(1)}%`);
  assert.ok(changed(a, b) > 0.05);
  assert.equal(changed(a, again), 0);
  await page.mouse.click(...(await patchCentre(page, 10, 9)));
  await page.mouse.move(5, 5); // pinned: leaving the canvas keeps the query
  assert.equal(await page.locator('#query-name').textContent(), 'patch (10, 9) · pinned');
  await page.close();
});

async function patchCentre(page: Page, r: number, c: number): Promise<[number, number]> {
  const box = (await page.locator('#image-canvas').boundingBox())!;
  return [box.x + ((c + 0.5) * box.width) / 14, box.y + ((r + 0.5) * box.height) / 14];
}

test('changing layer or head changes the rendering; a model-view click selects its layer and head', async () => {
  const { page } = await open(demoPage);
  const start = await pixels(page, '#image-canvas');
  await page.locator('#image-tower [aria-label=Layer] button', { hasText: '0' }).click();
  const layer0 = await pixels(page, '#image-canvas');
  assert.ok(changed(start, layer0) > 0.05, 'layer 1 -> 0');
  await page.locator('#image-tower [aria-label=Head] button', { hasText: '1' }).click();
  const head1 = await pixels(page, '#image-canvas');
  assert.ok(changed(layer0, head1) > 0.05, 'head mean -> 1');
  // Model view: rows are layers, columns heads then the mean; click the thumbnail of layer 1, head 0.
  const model = await pixels(page, '#model-canvas');
  const box = (await page.locator('#model-canvas').boundingBox())!;
  const cell = (box.width - 26) / 3;
  await page.mouse.click(box.x + 26 + cell * 0.5, box.y + 18 + cell * 1.5);
  assert.equal(await pressed(page, 'Layer'), '1');
  assert.equal(await pressed(page, 'Head'), '0');
  assert.ok(changed(model, await pixels(page, '#model-canvas')) > 0, 'the selection frame moved');
  assert.ok(changed(head1, await pixels(page, '#image-canvas')) > 0.05);
  await page.close();
});

test('keyboard: arrows move the layer and head of the tower under the pointer, m toggles the mean', async () => {
  const { page } = await open(demoPage);
  const before = await pixels(page, '#image-canvas');
  assert.equal(await pressed(page, 'Layer'), '1');
  await page.keyboard.press('ArrowUp');
  assert.equal(await pressed(page, 'Layer'), '0');
  assert.ok(changed(before, await pixels(page, '#image-canvas')) > 0.05);
  await page.keyboard.press('ArrowUp'); // stays at the first layer
  assert.equal(await pressed(page, 'Layer'), '0');
  assert.equal(await pressed(page, 'Head'), 'mean');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await pressed(page, 'Head'), '1');
  await page.keyboard.press('m');
  assert.equal(await pressed(page, 'Head'), 'mean');
  await page.keyboard.press(']');
  await page.waitForSelector('.strip-item[data-index="1"][aria-current=true]');
  await page.locator('#text-tower').hover();
  await page.keyboard.press('ArrowUp');
  assert.equal(await pressed(page, 'Layer', '#text-tower'), '0');
  assert.equal(await pressed(page, 'Layer'), '0', 'the image tower did not move');
  await page.close();
});

test("the text head view draws lines weighted by attention; hovering a token keeps that token's row", async () => {
  const { page } = await open(demoPage);
  const cards = page.locator('.head-card');
  assert.equal(await cards.count(), 2);
  for (let i = 0; i < 2; i++) assert.ok((await cards.nth(i).locator('.links line').count()) > 0);
  const all = await cards.nth(0).locator('.links line').count();
  await cards.nth(0).locator('.query-token').nth(2).hover();
  const lines = cards.nth(0).locator('.links line');
  const n = await lines.count();
  assert.ok(n > 0 && n < all && n <= 9, `${n} lines of ${all}`);
  const opacities = await lines.evaluateAll((ls) => ls.map((l) => Number(l.getAttribute('stroke-opacity'))));
  const sum = opacities.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 0.1, `one softmax row: weights sum to ${sum}`);
  await page.close();
});

test('"download data": JSON in the contracts of explain --json, lens --json and trace, within the 8-bit bound', async () => {
  const { page } = await open(demoPage);
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download').click()]);
  const data = JSON.parse(await fs.readFile((await download.path())!, 'utf8'));
  await page.close();
  assert.match(data.model, /random weights/);
  assert.deepEqual(Object.keys(data.explain[0]), ['model', 'method', 'image', 'text', 'grid', 'image_map', 'tokens', 'text_map', 'logit']);
  assert.deepEqual([...new Set(data.explain.map((e: { text: string }) => e.text))], TEXTS);
  assert.deepEqual(data.lens.texts, TEXTS);
  assert.equal(data.zero_shot.scores.length, 3);
  const image = data.trace[0];
  assert.equal(image.image, IMAGES[0]);
  assert.deepEqual(image.tensors[1].shape, [1, 2, 197, 197]);
  assert.deepEqual(data.trace[1].tokens.at(-1), '[SEP]');
  const clip = await BiomedCLIP.load(await ensureDemoModel(), { backend: 'cpu' });
  try {
    assert.deepEqual(
      image.tensors.map((t: { name: string }) => t.name),
      [0, 1].map((l) => attentionPoint(clip.model, 'image', l)),
    );
    const name = attentionPoint(clip.model, 'image', 1);
    const want = (await clip.trace({ images: [IMAGES[0]] }, { capture: [name] })).get(name)!.data;
    const got: number[] = image.tensors[1].data;
    let worst = 0;
    for (let r = 0; r < 2 * 197; r++) {
      const max = Math.max(...want.subarray(r * 197, (r + 1) * 197));
      for (let k = 0; k < 197; k++) worst = Math.max(worst, Math.abs(got[r * 197 + k] - want[r * 197 + k]) / max);
    }
    console.log(`downloaded attention vs the model's: worst error / row max ${worst.toExponential(2)} (bound 1/510 + 4 digits)`);
    assert.ok(worst < 1 / 510 + 1e-3);
  } finally {
    clip.dispose();
  }
});

test('4 full-size images (12 × 12 heads × 197 tokens each): time to the first drawn image', async () => {
  const page = buildPage(fullSizeView(4, 3));
  const file = path.join(tmp, 'full-size-4.html');
  await fs.writeFile(file, page.html);
  const opened = await open(file);
  const fcp = (await opened.page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1")) as number;
  console.log(
    `4 full-size images, ${(page.bytes / 1e6).toFixed(1)} MB: first contentful paint ${fcp.toFixed(0)} ms, first image drawn ${opened.timing.firstImageMs.toFixed(0)} ms (goal < 2000 ms), whole page ${opened.timing.readyMs.toFixed(0)} ms`,
  );
  assert.deepEqual(opened.errors, []);
  await hoverPatch(opened.page, 7, 7);
  assert.equal(await opened.page.locator('#query-name').textContent(), 'patch (7, 7)');
  const first = await pixels(opened.page, '#image-canvas');
  await opened.page.locator('.strip-item[data-index="3"]').click();
  await opened.page.waitForSelector('.strip-item[data-index="3"][aria-current=true]');
  assert.ok(changed(first, await pixels(opened.page, '#image-canvas')) > 0.05, 'the fourth image is drawn');
  await opened.page.close();
});

test('a BiomedCLIP-shaped model (12 layers × 12 heads, narrow, random weights): the full page', async () => {
  // rollout only, on wasm: the gradient methods would double the time at this depth; the demo pages test them.
  const dir = path.join(tmp, 'model12');
  const config = structuredClone(DEMO_CONFIG);
  Object.assign(config.model_cfg.vision_cfg, { width: 192, layers: 12, head_width: 16 });
  Object.assign(config.model_cfg.text_cfg.hf_model_config, { hidden_size: 192, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 768 });
  await writeDemoModel(dir, 1, config);
  const file = path.join(tmp, 'model12.html');
  const images = [IMAGES[0], path.join(SHARED_DIR, 'data', 'images', '02_adenocarcinoma_histopathology.jpg')];
  const texts = ['squamous cell carcinoma with keratin pearls', 'gland forming adenocarcinoma'];
  const r = await runCommand(viewCommand, [
    ...images,
    '--model',
    dir,
    '--backend',
    'wasm',
    ...texts.flatMap((t) => ['--text', t]),
    '--labels',
    'squamous cell carcinoma,adenocarcinoma,normal lung tissue',
    '--methods',
    'rollout',
    '--out',
    file,
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.err);
  const { page, errors } = await open(file);
  assert.deepEqual(errors, []);
  assert.equal(await page.locator('#image-tower [aria-label=Head] button').count(), 13);
  await page.locator('#image-tower [aria-label=Head] button', { hasText: /^5$/ }).click();
  await page.keyboard.press('ArrowRight');
  assert.equal(await pressed(page, 'Head'), '6');
  await page.keyboard.press('m');
  await hoverPatch(page, 4, 7);
  await page.screenshot({ path: path.join(SHOTS, 'model12.png'), fullPage: true });
  // docs/viewer.png (README) is this one: the header and the image tower.
  await page.screenshot({ path: path.join(SHOTS, 'model12-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1000 } });
  await page.close();
});
