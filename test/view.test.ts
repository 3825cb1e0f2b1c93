/**
 * `biomedclip view` without a browser: the 8-bit storage's error bound, the page's size at full size
 * (one image and one text under 10 MB), that the page names nothing to fetch, that its script is the
 * client's esbuild bundle (one IIFE), that each text's attention cut out of a padded batch equals the text
 * run alone, and the command's outputs and one-line errors.
 * test/view-browser.test.ts opens the page in Chromium.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { command as viewCommand } from '../src/cli/commands/view.js';
import { main } from '../src/cli/main.js';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import type { PageData } from '../src/view/contract.js';
import { attentionPoint } from '../src/inspect/probe.js';
import { collectView } from '../src/view/data.js';
import { dequantize, quantizeAttention, unpackBlock } from '../src/view/encode.js';
import { buildPage } from '../src/view/page.js';
import { fullSizeView, randomAttention } from './support/view-fixtures.js';
import { REPO_ROOT, SHARED_DIR, runCommand } from './helpers.js';

const IMAGE = path.join(SHARED_DIR, 'data', 'images', '01_squamous_cell_carcinoma_histopathology.jpeg');
let tmp: string;
let clip: BiomedCLIP;
/** The full-size page with peaked attention rows: built once (a second of CPU), read by several tests. */
let peakedPage: ReturnType<typeof buildPage> | undefined;
const fullSizePage = (spread: number) => (spread === 3 ? (peakedPage ??= buildPage(fullSizeView(1, 3))) : buildPage(fullSizeView(1, spread)));

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-view-'));
  // wasm, the default backend without a GPU (as in every test here): the page's data does not depend on it,
  // and it runs the demo model in a fraction of cpu's time.
  clip = await BiomedCLIP.load(await ensureDemoModel(), { backend: 'wasm' });
});

after(async () => {
  clip.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

/** The page's embedded JSON. */
function pageData(html: string): PageData {
  return JSON.parse(/<script type="application\/json" id="view-data">(.*?)<\/script>/s.exec(html)![1]) as PageData;
}

test('8-bit rows: every value within its row maximum / 510 of the original', () => {
  const layers = randomAttention(2, 3, 50, 2, 7);
  const { bytes, shape } = quantizeAttention(layers);
  assert.deepEqual(shape, [2, 3, 50, 50]);
  assert.equal(bytes.length, 2 * 3 * 50 * (4 + 50));
  const back = dequantize(bytes, shape);
  let worst = 0;
  for (let l = 0; l < 2; l++) {
    for (let r = 0; r < 3 * 50; r++) {
      const row = layers[l].data.subarray(r * 50, (r + 1) * 50);
      const max = Math.max(...row);
      for (let k = 0; k < 50; k++) worst = Math.max(worst, Math.abs(back[(l * 150 + r) * 50 + k] - row[k]) / max);
    }
  }
  console.log(`worst error / row max: ${worst.toExponential(3)} (bound 1/510 = ${(1 / 510).toExponential(3)})`);
  assert.ok(worst <= 1 / 510 + 1e-6);
});

test('full size: one image and one text cost under 10 MB, and the page names nothing to fetch', () => {
  for (const spread of [0.1, 3]) {
    const page = fullSizePage(spread);
    console.log(
      `full-size page, 1 image + 1 text, attention rows ${spread < 1 ? 'nearly uniform (worst case)' : 'peaked'}: ${(page.bytes / 1e6).toFixed(2)} MB`,
    );
    for (const c of page.cost) console.log(`  ${(c.bytes / 1e6).toFixed(3)} MB  ${c.part}`);
    assert.ok(page.bytes < 10e6, `${page.bytes} bytes`);
    const total = page.cost.reduce((s, c) => s + c.bytes, 0);
    assert.ok(Math.abs(total - page.bytes) / page.bytes < 0.01, `the cost table (${total}) accounts for the file (${page.bytes})`);
    if (spread === 3) {
      const html = page.html;
      assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
      // Markup and style name no resource; the script calls no network API (the browser test checks requests).
      const markup = html.replace(/(<script[^>]*>)[\s\S]*?<\/script>/g, '$1</script>');
      assert.equal(/<link|<img|<iframe|\ssrc=|\shref=|@import|url\(/i.exec(markup)?.[0], undefined);
      const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
      assert.equal(/\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|\bimport\(|new Worker/.exec(script)?.[0], undefined);
      const data = pageData(html);
      const block = /<script type="application\/octet-stream" id="image0-1">(.*?)<\/script>/s.exec(html)![1];
      assert.equal(data.images[0].attention.block.id, 'image0-1');
      assert.equal(unpackBlock(block).length, data.images[0].attention.block.bytes);
    }
  }
});

test('the page carries src/view/client/style.css as written, less its opening comment', () => {
  const css = readFileSync(path.join(REPO_ROOT, 'src', 'view', 'client', 'style.css'), 'utf8');
  const inlined = /<style>([\s\S]*?)<\/style>/.exec(fullSizePage(3).html)![1];
  assert.ok(inlined.includes(':root {') && css.endsWith(inlined), 'the <style> element is the end of the file, byte for byte');
  // What was cut is exactly one comment: the notes for editors, not a rule.
  const cut = css.slice(0, css.length - inlined.length);
  assert.match(cut, /^\/\*[\s\S]*\*\/\n$/);
  assert.equal(cut.indexOf('*/'), cut.length - 3);
});

test("the page's script is src/view/client bundled: one function scope, no module syntax left", () => {
  const script = /<script>([\s\S]*?)<\/script>/.exec(fullSizePage(3).html)![1];
  // An IIFE keeps the modules' names out of the page's globals (a classic <script> cannot `import`).
  assert.match(script, /^("use strict";\n)?\(\(\) => \{\n[\s\S]*\n\}\)\(\);\n$/);
  assert.equal(/^\s*(import|export)\b.*/m.exec(script)?.[0], undefined);
  // esbuild marks where each module starts (unminified): the entry and the embedded data's reader are in.
  for (const file of ['main.ts', 'decode.ts', 'image-view.ts']) assert.ok(script.includes(`// src/view/client/${file}\n`), file);
});

test("each text's attention cut from the padded batch equals the text run alone (to 1e-6), and nothing leaks", async () => {
  const texts = ['squamous cell carcinoma with keratin pearls', 'normal'];
  const before = tf.memory().numTensors;
  const view = await collectView(clip, { images: [IMAGE], texts, labels: ['tumor', 'normal tissue'] });
  assert.equal(tf.memory().numTensors, before, 'collectView leaves tf.memory() as it found it');
  const name = attentionPoint(clip.model, 'text', 1);
  const alone = await clip.trace({ texts: ['normal'] }, { capture: [name] });
  const want = alone.get(name)!;
  const got = view.texts[1].attention[1];
  assert.deepEqual(got.shape, want.shape);
  const diff = Math.max(...got.data.map((v, i) => Math.abs(v - want.data[i])));
  console.log(`text attention, cut from the batch vs alone: max|diff| ${diff.toExponential(2)} (tolerance 1e-6)`);
  assert.ok(diff < 1e-6);
  assert.deepEqual(view.texts[1].tokens, ['[CLS]', 'normal', '[SEP]']);
  assert.equal(view.images[0].crop.length, 224 * 224 * 3);
  assert.equal(view.images[0].scores!.length, 2);
  assert.equal(view.images[0].lens!.layers.length, clip.config.vision.layers);
  assert.equal(view.explanations.length, texts.length * view.methods.length);
  const e = view.explanations[0];
  assert.deepEqual(Object.keys(e), ['method', 'image', 'text', 'grid', 'image_map', 'tokens', 'text_map', 'logit']);
  assert.equal(e.image_map.length, 196);
  const [logit] = await clip.similarity([IMAGE], [texts[0]]);
  assert.ok(Math.abs(e.logit - logit[0]) < 1e-3, `pair logit ${e.logit} = similarity ${logit[0]}`);
});

test('labels alone: their prompts are the texts, and the lens gives a zero-shot probability per layer', async () => {
  const view = await collectView(clip, { images: [IMAGE], texts: [], labels: ['tumor', 'normal tissue'], template: 'a slide of {}' });
  assert.deepEqual(
    view.texts.map((t) => t.text),
    ['a slide of tumor', 'a slide of normal tissue'],
  );
  for (const row of view.images[0].lens!.layers) assert.ok(Math.abs(row.probability!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  const last = view.images[0].lens!.layers.at(-1)!;
  const scores = view.images[0].scores!;
  // The last layer's reading is the model's output: its probabilities are the zero-shot scores.
  for (const [i, label] of ['tumor', 'normal tissue'].entries()) {
    assert.ok(Math.abs(last.probability![i] - scores.find((s) => s.label === label)!.probability) < 1e-4, label);
  }
});

test('many labels, no --text: each image explains only its most probable few, with a note; scores and lens probabilities cover every label', async () => {
  const labels = ['tumor', 'normal tissue', 'necrosis', 'stroma', 'lymphocytes'];
  const notes: string[] = [];
  const steps: Array<[number, number]> = [];
  const view = await collectView(clip, {
    images: [IMAGE],
    texts: [],
    labels,
    methods: ['rollout'],
    onNote: (m) => notes.push(m),
    onProgress: (d, t) => steps.push([d, t]),
  });
  // Progress: the text tower, the image, and the 3 explained labels, counted to their total.
  assert.deepEqual(
    steps,
    [1, 2, 3, 4, 5].map((d) => [d, 5]),
  );
  const scores = view.images[0].scores!;
  assert.equal(scores.length, 5, 'scores list every label');
  const top = scores.slice(0, 3).map((x) => `this is a photo of ${x.label}`);
  assert.deepEqual(
    view.explanations.map((e) => e.text),
    top,
    'the three most probable, in order',
  );
  assert.deepEqual(view.texts.map((t) => t.text).sort(), [...top].sort(), 'the page shows the explained texts');
  const lens = view.images[0].lens!;
  assert.deepEqual(lens.texts, top);
  const last = lens.layers.at(-1)!.probability!;
  scores.slice(0, 3).forEach((x, i) => assert.ok(Math.abs(last[i] - x.probability) < 1e-4, 'the lens keeps the softmax over all labels'));
  assert.equal(notes.length, 1);
  assert.match(notes[0], /explaining each image's 3 most probable of the 5 labels .*--explain-top N/);
  const all = await collectView(clip, { images: [IMAGE], texts: [], labels, methods: ['rollout'], explainTop: 5, onNote: (m) => notes.push(m) });
  assert.equal(all.explanations.length, 5);
  assert.equal(notes.length, 1, 'no note when every label is explained');
});

test('the command writes the page and says what it costs', async () => {
  const out = path.join(tmp, 'report.html');
  const r = await runCommand(viewCommand, [
    IMAGE,
    '--demo',
    '--backend',
    'wasm',
    '--text',
    'tumor cells',
    '--labels',
    'tumor,normal',
    '--out',
    out,
    '--json',
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.err);
  const result = JSON.parse(r.out);
  assert.match(result.model, /random weights/);
  assert.equal(result.bytes, readFileSync(out).length);
  assert.ok(result.cost.some((c: { part: string }) => c.part.startsWith('image attention')));
  const data = pageData(readFileSync(out, 'utf8'));
  assert.deepEqual(
    data.texts.map((t) => t.text),
    ['tumor cells'],
  );
  assert.deepEqual(data.labels, ['tumor', 'normal']);
  assert.match(data.model.warning!, /random weights/);
});

test('bad input: one error line, a non-zero exit, no page', async () => {
  const out = path.join(tmp, 'bad.html');
  const broken = path.join(tmp, 'broken.png');
  await fs.writeFile(broken, readFileSync(IMAGE).subarray(0, 100));
  const cases: Array<[string[], RegExp]> = [
    [[IMAGE, '--text', 'x'], /missing --out/],
    [[IMAGE, '--text', 'x', '--out', path.join(tmp, 'page.png')], /expected an \.html file name/],
    [['--text', 'x', '--out', out], /no images given/],
    [[IMAGE, '--out', out], /no text given/],
    [[IMAGE, '--labels', ' , ', '--out', out], /--labels " , ": label 1 is empty/],
    [[IMAGE, '--text', 'x', '--methods', 'saliency', '--out', out], /unknown method 'saliency'; valid: /],
    [[broken, '--text', 'x', '--out', out], /broken\.png/],
    [[IMAGE, IMAGE, '--text', 'x', '--out', out], /is given twice/],
    [[IMAGE, '--bogus'], /unknown option '--bogus'; see `biomedclip view --help`/],
    [[IMAGE, '--text', 'x', '--methods', '', '--out', out], /--methods "": no methods given; pass some of attention, rollout/],
    [[IMAGE, '--labels', 'a,b', '--explain-top', '0', '--out', out], /--explain-top 0: expected an integer from 1 to/],
    [[IMAGE, '--text', 'x', '--labels', 'a,b', '--explain-top', '1', '--out', out], /--explain-top picks among the --labels prompts/],
    [[IMAGE, '--text', 'x', '--methods', 'rollout,,gradcam', '--out', out], /--methods "rollout,,gradcam": an empty item; remove the extra comma/],
    [[IMAGE, '--text', 'x', '--out', out, '--demo', '--model', '/elsewhere'], /--demo and --model \/elsewhere exclude each other/],
  ];
  for (const [args, message] of cases) {
    // Through main(), which turns a thrown error into the one line users see.
    const r = await runCommand({ usage: '', run: (a) => main(['view', ...a]) }, ['--model', 'demo', '--backend', 'wasm', '--quiet', ...args]);
    assert.notEqual(r.code, 0, args.join(' '));
    const lines = r.err.split('\n').filter((l) => !l.includes('warning: demo model'));
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], /^biomedclip: error: /);
    assert.match(lines[0], message);
  }
  assert.equal(existsSync(out), false);
  assert.deepEqual(
    (await fs.readdir(tmp)).filter((f) => f === 'bad.html' || f === 'page.png' || f.includes('.tmp-')),
    [],
    'no page and no temporary file left',
  );
});

test('a bad second image fails before any model work (no step line), and writes no page', async () => {
  const out = path.join(tmp, 'late.html');
  const broken = path.join(tmp, 'broken-second.png');
  await fs.writeFile(broken, readFileSync(IMAGE).subarray(0, 100));
  const r = await runCommand({ usage: '', run: (a) => main(['view', ...a]) }, [
    '--model',
    'demo',
    '--backend',
    'wasm',
    IMAGE,
    broken,
    '--text',
    'x',
    '--out',
    out,
  ]);
  assert.equal(r.code, 1, r.err);
  const lines = r.err.split('\n').filter((l) => !l.includes('warning: demo model'));
  assert.equal(lines.length, 1, `only the error, no "text tower"/"image tower" step before it: ${r.err}`);
  assert.match(lines[0], /^biomedclip: error: .*broken-second\.png/);
  assert.equal(existsSync(out), false);
});

test("the README's and docs/viewer.md's view command runs as written (data and output paths substituted)", async () => {
  for (const doc of ['README.md', 'docs/viewer.md']) {
    const line = readFileSync(path.join(REPO_ROOT, doc), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('node bin/biomedclip.js view '))!;
    assert.ok(line, `${doc} has a view command`);
    // The quoted arguments, as a shell would split them.
    const args = [...line.replace('node bin/biomedclip.js view ', '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
    const out = path.join(tmp, `${doc.replace(/\W/g, '-')}.html`);
    const fixed = args.map((a) => (a.startsWith('../shared/') ? path.join(SHARED_DIR, a.slice('../shared/'.length)) : a === 'report.html' ? out : a));
    const r = await runCommand(viewCommand, [...fixed, '--backend', 'wasm', '--quiet']);
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(out));
  }
});
