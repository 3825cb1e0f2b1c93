/**
 * `biomedclip eval` end to end with the demo model (deterministic random weights) on generated data: a
 * labelled image folder with an unreadable file, the same as a CSV, and an image-caption CSV. Checks the
 * report folder, that the results agree with `classify`, that the cache makes a rerun with other
 * templates embed only texts, lets a killed run resume and follows changed and removed images, and that each bad input is one error line
 * with no output written.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { command as evalCommand } from '../src/cli/commands/eval.js';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import { imageEmbeddings } from '../src/eval/store.js';
import { mulberry32 } from '../src/util/random.js';
import { runCommand } from './helpers.js';
import { indexRows } from './index-rows.js';
import { findAll, parseXml } from './support/xml.js';

let tmp: string;
let folder: string;
const CLASSES = ['normal_tissue', 'tumor', 'lymphocytes'];
const PER_CLASS = 4;
// wasm, the default backend without a GPU: what eval computes does not depend on it, and it embeds an image
// in a fifth of cpu's time (these tests embed about 60).
const MODEL = ['--model', 'demo', '--backend', 'wasm'];

/** A PNG of noise around a class colour, different for every (class, i). */
function png(c: number, i: number): Buffer {
  const next = mulberry32(100 * c + i);
  const img = new PNG({ width: 40, height: 30 });
  for (let p = 0; p < 40 * 30; p++) {
    for (let ch = 0; ch < 3; ch++) img.data[p * 4 + ch] = Math.min(255, (ch === c ? 170 : 40) + Math.floor(80 * next()));
    img.data[p * 4 + 3] = 255;
  }
  return PNG.sync.write(img);
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-eval-'));
  folder = path.join(tmp, 'data');
  for (const [c, name] of CLASSES.entries()) {
    await fs.mkdir(path.join(folder, name), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) await fs.writeFile(path.join(folder, name, `img${i}.png`), png(c, i));
  }
  await fs.writeFile(path.join(folder, 'tumor', 'truncated.png'), png(1, 9).subarray(0, 60));
  await fs.writeFile(
    path.join(tmp, 'labels.json'),
    JSON.stringify({ normal_tissue: 'normal tissue', tumor: ['tumor', 'metastatic tumor tissue'], lymphocytes: 'tumor infiltrating lymphocytes' }),
  );
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const cache = () => path.join(tmp, 'cache');

test('eval classify on an image folder: metrics, report folder, skipped file listed with exit 3', async () => {
  const out = path.join(tmp, 'report');
  const r = await runCommand(evalCommand, [
    'classify',
    folder,
    '--labels-file',
    path.join(tmp, 'labels.json'),
    '--templates',
    'pcam',
    '--top-k',
    '1,2',
    '--bootstrap',
    '200',
    '--cache',
    cache(),
    '--out',
    out,
    '--json',
    ...MODEL,
  ]);
  assert.equal(r.code, 3, r.err);
  assert.match(r.err, /skipped tumor\/truncated\.png: /);
  const json = JSON.parse(r.out);
  assert.equal(json.n, CLASSES.length * PER_CLASS);
  for (const key of ['accuracy', 'balanced_accuracy', 'macro_f1', 'auroc_macro', 'ece']) assert.ok(json[key] >= 0 && json[key] <= 1, `${key} in [0, 1]`);
  assert.deepEqual(Object.keys(json.top_k_accuracy), ['1', '2']);
  assert.deepEqual(Object.keys(json.per_class), CLASSES);
  for (const c of CLASSES) assert.equal(json.per_class[c].support, PER_CLASS);
  assert.deepEqual(
    json.skipped.map((s: { path: string }) => s.path),
    ['tumor/truncated.png'],
  );
  assert.equal(json.model.demo, true);
  assert.match(json.model.fingerprint, /^sha256:[0-9a-f]{32}$/);
  assert.deepEqual(json.templates, { source: 'pcam', templates: ['this is an image of {}', '{} presented in image'] });
  assert.deepEqual(json.prompts.tumor, [
    'this is an image of tumor',
    'tumor presented in image',
    'this is an image of metastatic tumor tissue',
    'metastatic tumor tissue presented in image',
  ]);
  assert.equal(json.preprocessing.crop, 'center 224x224');
  assert.ok(json.ci95.accuracy[0] <= json.accuracy && json.accuracy <= json.ci95.accuracy[1]);
  assert.equal(
    json.confusion_matrix.counts.flat().reduce((a: number, b: number) => a + b, 0),
    json.n,
  );

  assert.deepEqual((await fs.readdir(out)).sort(), ['calibration.svg', 'confusion.svg', 'metrics.json', 'predictions.csv', 'report.md']);
  assert.deepEqual(JSON.parse(readFileSync(path.join(out, 'metrics.json'), 'utf8')), json, 'metrics.json is the --json object');
  const csv = readFileSync(path.join(out, 'predictions.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], `image,label,predicted,${CLASSES.map((c) => `p:${c}`).join(',')},model`);
  assert.equal(csv.length, 1 + json.n);
  const row = csv[1].split(',');
  assert.ok(
    Math.abs(
      row
        .slice(3, 6)
        .map(Number)
        .reduce((a, b) => a + b, 0) - 1,
    ) < 1e-6,
    'probabilities sum to 1 (a float32 softmax: to a few float32 roundings)',
  );
  const confusion = parseXml(readFileSync(path.join(out, 'confusion.svg'), 'utf8'));
  assert.deepEqual(
    findAll(confusion, 'g', 'cell').map((c) => Number(c.children.find((e) => e.name === 'text')?.text)),
    json.confusion_matrix.counts.flat(),
    'confusion.svg prints the counts of metrics.json',
  );
  const reliability = parseXml(readFileSync(path.join(out, 'calibration.svg'), 'utf8'));
  assert.equal(findAll(reliability, 'g', 'bin').length, json.calibration.filter((b: { count: number }) => b.count > 0).length, 'a bar per non-empty bin');
  const md = readFileSync(path.join(out, 'report.md'), 'utf8');
  for (const link of ['(confusion.svg)', '(calibration.svg)', '(metrics.json)', '(predictions.csv)']) assert.ok(md.includes(link), `report.md links ${link}`);
  assert.match(md, /demo \(random weights: meaningless\)/);
});

test('eval probabilities equal classify on the same images and prompts (1e-5)', async () => {
  const r = await runCommand(evalCommand, [
    'classify',
    folder,
    '--classes-from-folders',
    '--bootstrap',
    '0',
    '--cache',
    cache(),
    '--out',
    path.join(tmp, 'report-folders'),
    '--quiet',
    ...MODEL,
  ]);
  assert.equal(r.code, 3, r.err);
  const [header, ...rows] = readFileSync(path.join(tmp, 'report-folders', 'predictions.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  const clip = await BiomedCLIP.load(await ensureDemoModel(), { backend: 'wasm' });
  try {
    const labels = CLASSES.map((c) => c.replace(/_/g, ' ')); // --classes-from-folders reads '_' as ' '
    const scores = await clip.classify(
      rows.map((r) => path.join(folder, r[0])),
      labels,
    );
    let worst = 0;
    scores.forEach((s, i) =>
      CLASSES.forEach((c, k) => {
        const ours = Number(rows[i][header.indexOf(`p:${c}`)]);
        worst = Math.max(worst, Math.abs((s.find((x) => x.label === labels[k])?.probability ?? NaN) - ours));
      }),
    );
    // Batching and padding may round differently (texts are padded to the longest of their batch).
    console.log(`eval vs classify: max |probability diff| ${worst.toExponential(2)} (tolerance 1e-5)`);
    assert.ok(worst < 1e-5);
  } finally {
    clip.dispose();
  }
});

test('a rerun with other templates embeds only the new texts; the same run twice gives the same metrics', async () => {
  const args = ['classify', folder, '--labels-file', path.join(tmp, 'labels.json'), '--bootstrap', '100', '--cache', cache(), '--json', ...MODEL];
  const first = JSON.parse((await runCommand(evalCommand, [...args, '--templates', 'a micrograph of {}'])).out);
  assert.equal(first.cache.images_embedded, 0);
  assert.equal(first.cache.images_cached, CLASSES.length * PER_CLASS);
  assert.equal(first.cache.texts_embedded, 4, 'four new prompts');
  const again = JSON.parse((await runCommand(evalCommand, [...args, '--templates', 'a micrograph of {}'])).out);
  assert.equal(again.cache.texts_embedded, 0);
  assert.deepEqual({ ...again, cache: null }, { ...first, cache: null });
});

test('a killed run resumes: committed batches are not embedded again', async () => {
  const fresh = path.join(tmp, 'cache-killed');
  const clip = await BiomedCLIP.load(await ensureDemoModel(), { backend: 'wasm' });
  const paths = CLASSES.flatMap((c) => Array.from({ length: PER_CLASS }, (_, i) => `${c}/img${i}.png`));
  try {
    const killAfterFirstBatch = () => {
      throw new Error('killed');
    };
    await assert.rejects(imageEmbeddings(clip, fresh, folder, paths, { batchSize: 5, onProgress: killAfterFirstBatch }), /killed/);
  } finally {
    clip.dispose();
  }
  const r = await runCommand(evalCommand, ['classify', folder, '--classes-from-folders', '--bootstrap', '0', '--cache', fresh, '--json', ...MODEL]);
  const json = JSON.parse(r.out);
  assert.equal(json.cache.images_cached, 5);
  assert.equal(json.cache.images_embedded, paths.length - 5);
});

test('eval classify on a CSV (image,label), paths relative to the CSV', async () => {
  const lines = ['image,label', ...CLASSES.flatMap((c) => [0, 1].map((i) => `data/${c}/img${i}.png,${c}`))];
  await fs.writeFile(path.join(tmp, 'split.csv'), lines.join('\n') + '\n');
  const r = await runCommand(evalCommand, [
    'classify',
    path.join(tmp, 'split.csv'),
    '--labels-file',
    path.join(tmp, 'labels.json'),
    '--bootstrap',
    '0',
    '--cache',
    path.join(tmp, 'cache-csv'),
    ...MODEL,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^model: demo \(random weights: meaningless\)/);
  assert.match(r.out, /\nn: 6\n/);
  assert.match(r.out, /\naccuracy +\d\.\d{4}\n/);
});

test('eval retrieval on an image,caption CSV: Recall@K and median rank both ways, ranks.csv', async () => {
  const rows = [
    ['data/tumor/img0.png', '"tumor cells, densely packed"'],
    ['data/tumor/img0.png', 'a second caption of the same image'],
    ['data/normal_tissue/img1.png', 'normal tissue'],
    ['data/lymphocytes/img2.png', 'lymphocytes'],
    ['data/lymphocytes/img3.png', 'lymphocytes'],
  ];
  await fs.writeFile(path.join(tmp, 'captions.csv'), ['image,caption', ...rows.map((r) => r.join(','))].join('\n'));
  const out = path.join(tmp, 'retrieval-report');
  const r = await runCommand(evalCommand, [
    'retrieval',
    path.join(tmp, 'captions.csv'),
    '--cache',
    path.join(tmp, 'cache-ret'),
    '--out',
    out,
    '--json',
    '--bootstrap',
    '50',
    '--recall-at',
    '1,2,4',
    ...MODEL,
  ]);
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  assert.equal(json.n, 5);
  assert.equal(json.images, 4);
  assert.equal(json.captions, 4, 'identical caption texts are one candidate');
  assert.equal(json.image_to_text.queries, 4);
  assert.equal(json.text_to_image.queries, 5);
  for (const dir of ['image_to_text', 'text_to_image']) {
    assert.ok(json[dir]['recall@1'] <= json[dir]['recall@2'] && json[dir]['recall@2'] <= json[dir]['recall@4']);
    assert.equal(json[dir]['recall@4'], 1, '4 candidates: everything is within 4');
  }
  const ranks = readFileSync(path.join(out, 'ranks.csv'), 'utf8').trim().split('\n');
  assert.equal(ranks[0], 'direction,query,rank,model');
  assert.equal(ranks.length, 1 + 4 + 5);
  assert.ok(
    ranks.some((l) => /^text_to_image,"tumor cells, densely packed",[1-4],demo/.test(l)),
    'quoted caption round-trips',
  );
});

test('bad inputs: one error line each, nothing written', async () => {
  const labels = path.join(tmp, 'labels.json');
  const out = path.join(tmp, 'never');
  const bad = async (args: string[], pattern: RegExp, code = 1) => {
    const err = await evalCommand.run([...args, '--out', out, ...MODEL]).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err, `expected an error for ${args.join(' ')}`);
    assert.match(err.message, pattern);
    assert.equal(err.exitCode, code, err.message);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.ok(!existsSync(out), 'no report folder');
  };
  const empty = path.join(tmp, 'with-empty-class');
  await fs.cp(folder, empty, { recursive: true });
  await fs.mkdir(path.join(empty, 'necrosis'));
  await bad(['classify', empty, '--classes-from-folders'], /necrosis: class folder with no images; add its images or remove the folder/);
  await fs.writeFile(path.join(tmp, 'nolabel.csv'), 'image,diagnosis\ndata/tumor/img0.png,tumor\n');
  await bad(['classify', path.join(tmp, 'nolabel.csv'), '--labels-file', labels], /no 'label' column \(the header is image,diagnosis\)/);
  await fs.writeFile(path.join(tmp, 'unknown.csv'), 'image,label\ndata/tumor/img0.png,tumor\ndata/tumor/img1.png,necrosis\n');
  await bad(['classify', path.join(tmp, 'unknown.csv'), '--labels-file', labels], /unknown\.csv:3: label 'necrosis' not in the label file/);
  await fs.writeFile(path.join(tmp, 'two.json'), JSON.stringify({ tumor: 'tumor', normal_tissue: 'normal' }));
  await bad(['classify', folder, '--labels-file', path.join(tmp, 'two.json')], /class 'lymphocytes' is not in the label file/);
  await bad(['classify', path.join(tmp, 'unknown.csv'), '--classes-from-folders'], /needs an image folder/, 2);
  await bad(['classify', folder], /--labels-file L\.json or --classes-from-folders/, 2);
  await fs.writeFile(path.join(tmp, 'nocaption.csv'), 'image,text\na.png,x\n');
  await bad(['retrieval', path.join(tmp, 'nocaption.csv')], /no 'caption' column/);
  await bad(['classify', folder, '--classes-from-folders', '--bootstrap', 'many'], /--bootstrap many: expected an integer from 0 to 100,000/, 2);
  await bad(['classify', folder, '--classes-from-folders', '--templates', 'no-such-set'], /unknown template set/, 2);
  await fs.writeFile(path.join(tmp, 'templates.txt'), '# mine\na micrograph\n');
  await bad(['classify', folder, '--classes-from-folders', '--templates', path.join(tmp, 'templates.txt')], /"a micrograph" has no \{\}/, 2);
  await fs.writeFile(path.join(tmp, 'list.json'), '["tumor", "normal"]');
  await bad(['classify', folder, '--labels-file', path.join(tmp, 'list.json')], /expected a JSON object/);
  await fs.writeFile(path.join(tmp, 'one.json'), '{"tumor": ["tumor", ""], "normal_tissue": "normal"}');
  await bad(['classify', folder, '--labels-file', path.join(tmp, 'one.json')], /class "tumor" needs a non-empty description/);
});

test('images changed since they were cached are embedded again, and removed ones are dropped from the cache', async () => {
  const copy = path.join(tmp, 'changing');
  await fs.cp(folder, copy, { recursive: true });
  await fs.rm(path.join(copy, 'tumor', 'truncated.png'));
  const cacheDir = path.join(tmp, 'cache-changing');
  const args = ['classify', copy, '--classes-from-folders', '--bootstrap', '0', '--cache', cacheDir, '--json', '--quiet', ...MODEL];
  assert.equal((await runCommand(evalCommand, args)).code, 0);
  await fs.writeFile(path.join(copy, 'tumor', 'img2.png'), png(1, 7)); // new bytes under a cached name
  await fs.rm(path.join(copy, 'lymphocytes', 'img3.png'));
  const r = await runCommand(evalCommand, args);
  assert.equal(r.code, 0, r.err);
  const json = JSON.parse(r.out);
  assert.equal(json.n, CLASSES.length * PER_CLASS - 1);
  assert.equal(json.cache.images_embedded, 1, 'only the changed image is embedded again');
  const manifest = await indexRows(path.join(cacheDir, 'images'), 64);
  assert.equal(manifest.length, CLASSES.length * PER_CLASS - 1, 'the removed image is forgotten');
  assert.ok(!manifest.some((m) => m.path === 'lymphocytes/img3.png'));
  const clip = await BiomedCLIP.load(await ensureDemoModel(), { backend: 'wasm' });
  try {
    const [direct] = await clip.encodeImages([path.join(copy, 'tumor', 'img2.png')]);
    const cached = await imageEmbeddings(clip, cacheDir, copy, ['tumor/img2.png']);
    assert.equal(cached.embedded, 0);
    const diff = Math.max(...direct.embedding.map((v, i) => Math.abs(v - (cached.embeddings.get('tumor/img2.png') as Float32Array)[i])));
    assert.ok(diff < 1e-5, `the cached row is the new image's embedding (max diff ${diff})`);
  } finally {
    clip.dispose();
  }
});
