/**
 * The library API and the CLI on the demo model (real image size, real tokenizer, 30522-row embedding,
 * toy width): memory is unchanged by embed, classify and trace; classify equals what one computes by hand
 * from embed's output; bad input gives one error line and a non-zero exit. The CLI runs as a child process
 * where the process is under test (embed's JSON on stdout, the launcher, a bad flag, the environment), and
 * its main() in this process elsewhere (the same code and messages, without a CPU-second of start-up each).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BiomedCLIP, fillTemplate } from '../src/api/biomedclip.js';
import { UserError } from '../src/errors.js';
import { METHODS } from '../src/inspect/explain.js';
import { SafetensorsFile } from '../src/weights/index.js';
import { cli, cliInProcess, EXAMPLE_IMAGES, REPO_ROOT, SHARED_DIR, tempDemoModel } from './helpers.js';

const IMAGES = [EXAMPLE_IMAGES.adenocarcinoma, EXAMPLE_IMAGES.squamous];
const LABELS = ['adenocarcinoma histopathology', 'brain MRI', 'chest X-ray'];
const { dir, ready } = tempDemoModel('biomedclip-api-');
let clip: BiomedCLIP;

before(async () => {
  await ready();
  clip = await BiomedCLIP.load(path.join(dir, 'demo'), { backend: 'cpu' });
});

after(() => clip?.dispose());

test('embed, classify and trace leave tf.memory().numTensors unchanged', async () => {
  await clip.encodeImages(IMAGES); // warm-up: kernels and caches allocate once
  const before = tf.memory().numTensors;
  await clip.encodeImages(IMAGES);
  await clip.encodeTexts(['tumor cells', 'normal tissue']);
  await clip.classify(IMAGES, LABELS);
  await clip.trace({ images: IMAGES.slice(0, 1), texts: ['tumor'] }, { capture: ['*.probs'] });
  assert.equal(tf.memory().numTensors, before);
});

test("explainRunner: this thread and a pool of 2 give explain()'s maps exactly (cpu); memory unchanged; a UserError stays one", async () => {
  const pooled = await BiomedCLIP.load(path.join(dir, 'demo'), { backend: 'cpu', workers: 2 });
  try {
    const want = (await clip.explain(IMAGES[0], 'tumor cells', METHODS)).explanations;
    const here = await clip.explainRunner(false);
    const pool = await pooled.explainRunner(true);
    assert.equal(here.window, 1);
    assert.equal(pool.window, 4);
    const before = tf.memory().numTensors;
    const mine = await here.explain(await clip.explainInputs(IMAGES[0], 'tumor cells'), METHODS);
    assert.equal(tf.memory().numTensors, before, 'the in-thread runner frees its tensors');
    // Two pairs at once, so both workers run; each answer is its own pair's.
    const [theirs, other] = await Promise.all([
      pool.explain(await pooled.explainInputs(IMAGES[0], 'tumor cells'), METHODS),
      pool.explain(await pooled.explainInputs(IMAGES[1], 'tumor cells'), ['attention']),
    ]);
    let maxDiff = 0;
    for (const got of [mine, theirs]) {
      assert.deepEqual(
        got.map((e) => [e.method, e.logit]),
        want.map((e) => [e.method, e.logit]),
      );
      for (const [k, e] of got.entries()) {
        for (let p = 0; p < e.imageMap.length; p++) maxDiff = Math.max(maxDiff, Math.abs(e.imageMap[p] - want[k].imageMap[p]));
        assert.equal(e.textMap?.length, want[k].textMap?.length);
        e.textMap?.forEach((v, p) => (maxDiff = Math.max(maxDiff, Math.abs(v - want[k].textMap![p]))));
      }
    }
    console.log(`explainRunner (this thread, pool of 2) vs explain(), cpu, all methods: max |diff| ${maxDiff} (tolerance 0)`);
    assert.equal(maxDiff, 0);
    assert.notEqual(other[0].logit, want[0].logit, 'the other image has its own logit');
    await assert.rejects(
      pool.explain(await pooled.explainInputs(IMAGES[0], 'tumor'), ['attention'], { layer: 99 }),
      (err: Error) => err instanceof UserError && /^--layer 99: must be an integer from 0 to \d+$/.test(err.message),
    );
  } finally {
    pooled.dispose();
  }
});

test('classify equals softmax(exp(logit_scale) · cosine) computed by hand from embed', async () => {
  const [img] = await clip.encodeImages(IMAGES.slice(0, 1));
  const txt = await clip.encodeTexts(LABELS.map((l) => fillTemplate('this is a photo of {}', l)));
  const scale = Math.exp(clip.model.logit_scale.dataSync()[0]);
  const logits = txt.map((t) => scale * t.embedding.reduce((s, x, i) => s + x * img.embedding[i], 0));
  const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
  const probs = z.map((x) => x / z.reduce((a, b) => a + b));
  const [scores] = await clip.classify(IMAGES.slice(0, 1), LABELS);
  for (const s of scores) {
    const i = LABELS.indexOf(s.label);
    assert.ok(Math.abs(s.probability - probs[i]) < 1e-6 && Math.abs(s.logit - logits[i]) < 1e-4, `${s.label}`);
  }
  assert.deepEqual(
    scores.map((s) => s.probability),
    [...scores.map((s) => s.probability)].sort((a, b) => b - a),
  );
});

test('text features do not depend on padding (longest vs 256)', async () => {
  const texts = ['adenocarcinoma', 'a much longer caption about squamous cell carcinoma of the lung'];
  const a = await clip.encodeTexts(texts);
  const b = await clip.encodeTexts(texts, { padTo: 256 });
  let max = 0;
  for (let i = 0; i < texts.length; i++) for (let j = 0; j < a[i].features.length; j++) max = Math.max(max, Math.abs(a[i].features[j] - b[i].features[j]));
  console.log(`longest vs 256 padding: max|diff| ${max.toExponential(2)} (tolerance 1e-5)`);
  assert.ok(max <= 1e-5);
});

test('CLI embed --json gives features and unit-norm embeddings; classify matches embed', async () => {
  const model = path.join(dir, 'demo');
  const r = cli('embed', '--model', model, '--backend', 'cpu', '--image', IMAGES[0], '--text', 'tumor', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.match(r.stderr, /random weights/);
  assert.equal(out.images[0].features.length, 64);
  const norm = Math.hypot(...out.images[0].embedding);
  assert.ok(Math.abs(norm - 1) < 1e-5, `embedding norm ${norm}`);
  const c = await cliInProcess('classify', IMAGES[0], '--model', model, '--backend', 'cpu', '--labels', 'tumor,normal', '--template', '{}', '--json');
  assert.equal(c.code, 0, c.stderr.join('\n'));
  const [res] = JSON.parse(c.out);
  const tumor = res.scores.find((s: { label: string }) => s.label === 'tumor');
  const cos = out.images[0].embedding.reduce((s: number, x: number, i: number) => s + x * out.texts[0].embedding[i], 0);
  assert.ok(Math.abs(tumor.logit - 100 * cos) < 1e-3, `logit ${tumor.logit} vs ${100 * cos}`);
});

test('demo model: every stdout format says so (JSON field, CSV column, table first line), even with --quiet', async () => {
  const model = path.join(dir, 'demo');
  const base = ['--model', model, '--backend', 'cpu', '--quiet'];
  const label = 'demo (random weights: meaningless)';
  const stdout = async (...args: string[]) => (await cliInProcess(...args)).out;
  const json = await stdout('classify', IMAGES[0], ...base, '--labels', 'tumor,normal', '--json');
  assert.equal(JSON.parse(json)[0].model, label);
  const csv = (await stdout('classify', IMAGES[0], ...base, '--labels', 'tumor,normal', '--csv')).trim().split('\n');
  assert.equal(csv[0], 'file,rank,label,probability,logit,model');
  assert.ok(
    csv.slice(1).every((line) => line.endsWith(`,${label}`)),
    csv.join('\n'),
  );
  const table = (await stdout('classify', IMAGES[0], ...base, '--labels', 'tumor,normal')).split('\n');
  assert.equal(table[0], `model: ${label}`);
  const embedCsv = (await stdout('embed', ...base, '--text', 'tumor', '--csv')).trim().split('\n');
  assert.match(embedCsv[0], /^kind,source,e0,.*,e63,model$/);
  assert.match(embedCsv[1], new RegExp(`^text,tumor,.*,${label.replace(/[()]/g, '\\$&')}$`));
  assert.equal((await stdout('embed', ...base, '--text', 'tumor')).split('\n')[0], `model: ${label}`);
});

test('CLI trace writes hook tensors under PyTorch module names', async () => {
  const out = path.join(dir, 'trace.safetensors');
  const r = await cliInProcess(
    'trace',
    '--model',
    path.join(dir, 'demo'),
    '--backend',
    'cpu',
    '--image',
    IMAGES[0],
    '--text',
    'tumor cells',
    '--capture',
    '*.probs',
    '--capture',
    'visual.head.proj',
    '--out',
    out,
  );
  assert.equal(r.code, 0, r.stderr.join('\n'));
  const f = await SafetensorsFile.open(out);
  assert.deepEqual(f.tensors.get('visual.trunk.blocks.1.attn.probs')?.shape, [1, 2, 197, 197]);
  assert.deepEqual(f.tensors.get('text.transformer.encoder.layer.0.attention.self.probs')?.shape, [1, 2, 4, 4]);
  assert.deepEqual(f.tensors.get('visual.head.proj')?.shape, [1, 64]);
  assert.ok(f.tensors.has('outputs.logits_per_image'));
  assert.equal(f.metadata.weights, 'demo (random weights: meaningless)', 'a demo trace says so in the file too');
  assert.equal(r.out.split('\n')[0], 'model: demo (random weights: meaningless)');
  await f.close();
});

test("an unknown flag: exit 2 and one line naming the command's --help, for every command", async () => {
  for (const command of ['embed', 'classify', 'tokenize', 'preprocess', 'convert', 'download', 'index', 'search', 'parity', 'summary', 'trace']) {
    const r = await cliInProcess(command, '--bogus');
    assert.equal(r.code, 2, `${command}: ${r.stderr.join('\n')}`);
    assert.deepEqual(r.stderr, [`biomedclip: error: unknown option '--bogus'; see \`biomedclip ${command} --help\``], command);
    assert.equal(r.out, '', command);
  }
  // The same through the launcher: that line is all of stderr.
  assert.match(cli('embed', '--bogus').stderr, /^biomedclip: error: unknown option '--bogus'; see `biomedclip embed --help`\n$/);
});

test('bad input: one error line, non-zero exit, no output file', async () => {
  const out = path.join(dir, 'never.safetensors');
  const cases = [
    await cliInProcess('embed', '--model', path.join(dir, 'nope')),
    await cliInProcess('classify', IMAGES[0], '--model', path.join(dir, 'demo'), '--labels', ''),
    await cliInProcess(
      'trace',
      '--model',
      path.join(dir, 'demo'),
      '--image',
      path.join(SHARED_DIR, 'data', 'images', '12_nm_wholebody_bone_12bit_sof1.jpg'),
      '--out',
      out,
    ),
    await cliInProcess('embed', '--model', path.join(dir, 'demo'), '--backend', 'gpu', '--text', 'x'),
  ];
  for (const r of cases) {
    assert.notEqual(r.code, 0);
    assert.equal(r.errors.length, 1, r.stderr.join('\n'));
  }
  assert.equal(existsSync(out), false);
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), '--help']);
});

test("BiomedCLIP.load('demo') resolves the demo model as the CLI's --model demo does", async () => {
  const demo = await BiomedCLIP.load('demo', { backend: 'cpu' });
  try {
    assert.equal(demo.isDemo, true);
    assert.ok(path.isAbsolute(demo.modelDir), demo.modelDir);
    const [e] = await demo.encodeTexts(['tumor']);
    assert.equal(e.embedding.length, 64);
  } finally {
    demo.dispose();
  }
});

test('first use without a model: tries the download, and offline says how to go on', () => {
  const env = { ...process.env, HF_HOME: path.join(dir, 'hf-empty'), HF_ENDPOINT: 'http://127.0.0.1:9' };
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'embed', '--text', 'tumor'], { encoding: 'utf8', env });
  assert.equal(r.status, 1);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('biomedclip: error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /biomedclip download.*--model demo/);
});
