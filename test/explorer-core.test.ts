/**
 * What the explorer's page computes, checked in Node (the same modules the page bundles, minus the DOM):
 *   - ClipCore built from bytes, as the page builds it (SafetensorsFile.fromBytes, loadWeights, the tokenizer
 *     from vocab.txt's text), gives exactly the facade's embeddings;
 *   - the page's result (studio/result.ts) equals `biomedclip embed --json --decoder js` and `classify --json
 *     --decoder js` run in a terminal;
 *   - the forward-pass walk (studio/walk.ts) has every step in order, each step's source line exists once in
 *     src/, and its last step's probabilities are the model's;
 *   - the browser twins of the Node seams export only what their Node modules export, and refuse paths.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { ClipCore } from '../src/api/core.js';
import { isDemoConfig } from '../src/demo/marker.js';
import { parseOpenClipConfig } from '../src/model/config.js';
import { loadWeights } from '../src/model/load-weights.js';
import { computeResult } from '../src/studio/result.js';
import { walkthrough } from '../src/studio/walk.js';
import { WordPieceTokenizer } from '../src/tokenizer/index.js';
import { SafetensorsFile } from '../src/weights/reader.js';
import { cli, EXAMPLE_IMAGES, REPO_ROOT, tempDemoModel } from './helpers.js';

const LABELS = ['adenocarcinoma histopathology', 'squamous cell carcinoma histopathology'];
const TEMPLATE = 'this is a photo of {}';
const { dir, ready } = tempDemoModel('biomedclip-explorer-');
let clip: BiomedCLIP;
let modelDir: string;

before(async () => {
  await ready();
  modelDir = path.join(dir, 'demo');
  clip = await BiomedCLIP.load(modelDir, { backend: 'cpu', decoder: 'js' });
});

after(() => clip?.dispose());

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test('ClipCore built from bytes, as the page builds it, embeds exactly as the facade (tolerance 0)', async () => {
  const configJson = JSON.parse(readFileSync(path.join(modelDir, 'open_clip_config.json'), 'utf8'));
  const file = await SafetensorsFile.fromBytes('model.safetensors', readFileSync(path.join(modelDir, 'model.safetensors')));
  const model = await loadWeights(file, parseOpenClipConfig(configJson), {});
  await file.close();
  const vocab = readFileSync(path.join(modelDir, 'vocab.txt'), 'utf8');
  const core = await ClipCore.create({
    model,
    modelDir: 'http://page/model/',
    isDemo: isDemoConfig(configJson),
    tokenizer: () => WordPieceTokenizer.fromVocabText(vocab),
  });
  try {
    const bytes = readFileSync(EXAMPLE_IMAGES.adenocarcinoma);
    const [a] = await core.encodeImages([bytes], { decoder: 'js' });
    const [b] = await clip.encodeImages([bytes]);
    const [ta] = await core.encodeTexts(LABELS.slice(0, 1));
    const [tb] = await clip.encodeTexts(LABELS.slice(0, 1));
    const d = Math.max(maxDiff(a.features, b.features), maxDiff(ta.features, tb.features));
    console.log(`page-built core vs facade: max |diff| ${d} (tolerance 0)`);
    assert.equal(d, 0);
    assert.equal(core.isDemo, true);
  } finally {
    core.dispose();
  }
});

test("the page's result equals `embed --json --decoder js` and `classify --json --decoder js` (tolerance 1e-6)", async () => {
  const image = EXAMPLE_IMAGES.adenocarcinoma;
  const r = await computeResult(clip, 'cpu', { name: path.basename(image), bytes: readFileSync(image) }, LABELS, TEMPLATE);
  const model = ['--model', modelDir, '--backend', 'cpu', '--decoder', 'js', '--json', '--quiet'];
  const embed = JSON.parse(cli('embed', ...model, '--image', image, ...LABELS.flatMap((t) => ['--text', t])).stdout);
  const classify = JSON.parse(cli('classify', ...model, '--labels', LABELS.join(','), '--template', TEMPLATE, image).stdout);
  let d = 0;
  d = Math.max(d, maxDiff(r.images[0].features, embed.images[0].features), maxDiff(r.images[0].embedding, embed.images[0].embedding));
  r.texts.forEach((t: { text: string; features: number[] }, i: number) => {
    assert.equal(t.text, embed.texts[i].text);
    d = Math.max(d, maxDiff(t.features, embed.texts[i].features));
  });
  const cliScores = new Map(classify[0].scores.map((s: { label: string; probability: number; logit: number }) => [s.label, s]));
  for (const s of r.scores) {
    const c = cliScores.get(s.label) as { probability: number; logit: number };
    d = Math.max(d, Math.abs(s.probability - c.probability), Math.abs(s.logit - c.logit));
  }
  console.log(`page result vs CLI: max |diff| ${d} (tolerance 1e-6)`);
  assert.ok(d <= 1e-6, `max diff ${d}`);
  assert.equal(r.model, embed.model, 'the demo label travels as in the CLI');
  assert.deepEqual(
    r.scores.map((s) => s.label),
    classify[0].scores.map((s: { label: string }) => s.label),
  );
});

test('the forward-pass walk: every step in order, its source line once in src/, its head equal to the model', async () => {
  const bytes = readFileSync(EXAMPLE_IMAGES.squamous);
  await walkthrough(clip, { image: bytes, texts: LABELS }); // warm-up: kernels allocate once
  const tensors = tf.memory().numTensors;
  const steps = await walkthrough(clip, { image: bytes, texts: LABELS });
  assert.equal(tf.memory().numTensors, tensors, 'the walk leaves no tensor behind');
  const { vision, text } = clip.config;
  const ids = steps.map((s) => s.id);
  assert.deepEqual(ids, [
    'crop',
    'pixels',
    'patches',
    'embed',
    ...[...Array(vision.layers).keys()].map((l) => `block-${l}`),
    'pool',
    'image-proj',
    'wordpieces',
    'text-embed',
    ...[...Array(text.layers).keys()].map((l) => `layer-${l}`),
    'text-proj',
    'head',
  ]);
  for (const s of steps) {
    const source = readFileSync(path.join(REPO_ROOT, 'src', s.source.file), 'utf8');
    assert.equal(source.split(s.source.find).length - 1, 1, `${s.id}: "${s.source.find}" occurs once in src/${s.source.file}`);
  }
  const patches = steps.find((s) => s.id === 'patches')!;
  assert.equal(patches.shape, `[1, ${(vision.imageSize / vision.patchSize) ** 2}, ${vision.width}]`);
  const head = steps.at(-1)!.draw;
  assert.equal(head.kind, 'head');
  if (head.kind !== 'head') return;
  const traced = await clip.trace({ images: [bytes], texts: LABELS }, { capture: [] });
  const logits = Array.from(traced.get('outputs.logits_per_image')!.data);
  const d = maxDiff(head.logits, logits);
  console.log(`walk's logits vs the model's: max |diff| ${d} (tolerance 1e-4)`);
  assert.ok(d < 1e-4);
  assert.ok(Math.abs(head.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
});

test("the browser twins of the Node seams export only their Node module's names, and refuse paths", async () => {
  const seams = ['weights/file-source', 'tokenizer/files', 'image/preprocess'];
  for (const seam of seams) {
    const node = await import(`../src/${seam}.js`);
    const page = await import(`../src/${seam}.browser.js`);
    for (const name of Object.keys(page)) assert.ok(name in node, `${seam}.browser exports ${name}, which ${seam} lacks`);
  }
  const { openFileSource } = await import('../src/weights/file-source.browser.js');
  await assert.rejects(openFileSource('model.safetensors'), /web page cannot open files/);
  const { readTextFile } = await import('../src/tokenizer/files.browser.js');
  assert.throws(() => readTextFile('vocab.txt', 'vocab file'), /web page cannot read files/);
  const { decodeInput } = await import('../src/image/preprocess.browser.js');
  await assert.rejects(decodeInput('a.png', {}), /web page cannot open files/);
});
