/**
 * Retrieval and zero-shot helpers: search results equal cosine rankings computed by hand from the
 * embeddings, unreadable files are reported, a killed writer's lock is taken over, the export is NumPy-readable, and
 * named templates / the label cache behave as documented. Text queries need real BERT vocabulary ids, so
 * the model is a random-weight one with the full 30522-row vocabulary (tiny widths), written to a temp dir.
 */
// test tier: full (PyTorch reference and NumPy: /usr/bin/python3)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { LabelEmbeddingCache } from '../src/api/label-cache.js';
import { resolveTemplates } from '../src/eval/prompts.js';
import { command as indexCommand } from '../src/cli/commands/index.js';
import { command as searchCommand } from '../src/cli/commands/search.js';
import { UserError } from '../src/errors.js';
import { expectedTensorShapes } from '../src/model/spec.js';
import { parseOpenClipConfig } from '../src/model/config.js';
import { buildIndex } from '../src/retrieval/build.js';
import { IndexReader } from '../src/retrieval/index-reader.js';
import { writeSafetensors } from '../src/weights/writer.js';
import { indexRows } from './index-rows.js';
import { diffStats, FIXTURES, reportDiff, runCommand, SHARED_DIR, TORCH_PYTHON } from './helpers.js';

let tmp: string;
let modelDir: string;
let imagesDir: string;
let clip: BiomedCLIP;

/** Deterministic standard normals (mulberry32 + Box-Muller): the same model every run. */
function normals(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return out;
}

/** The tiny fixture's config with the real vocabulary size, random weights, and the real vocab.txt. */
async function makeVocabModel(dir: string, seed: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  const json = JSON.parse(readFileSync(path.join(FIXTURES, 'tiny', 'open_clip_config.json'), 'utf8'));
  json.model_cfg.text_cfg.hf_model_config.vocab_size = 30522;
  await fs.writeFile(path.join(dir, 'open_clip_config.json'), JSON.stringify(json));
  await fs.copyFile(path.join(SHARED_DIR, 'data', 'model-files', 'biomedbert-vocab.txt'), path.join(dir, 'vocab.txt'));
  const shapes = expectedTensorShapes(parseOpenClipConfig(json));
  const tensors = [...shapes].map(([name, shape], i) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNormWeight = /(norm\d?|LayerNorm)\.weight$/.test(name);
    const data =
      name === 'logit_scale' ? Float32Array.of(Math.log(100)) : isNormWeight ? new Float32Array(n).fill(1) : normals(n, seed * 1000 + i).map((x) => 0.1 * x);
    return { name, dtype: 'F32' as const, shape, data };
  });
  await writeSafetensors(path.join(dir, 'model.safetensors'), tensors);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-retrieval-'));
  modelDir = path.join(tmp, 'model');
  await makeVocabModel(modelDir, 1);
  imagesDir = path.join(tmp, 'images');
  await fs.mkdir(path.join(imagesDir, 'nested'), { recursive: true });
  const shared = path.join(SHARED_DIR, 'data', 'images');
  for (const name of ['01_squamous_cell_carcinoma_histopathology.jpeg', '02_adenocarcinoma_histopathology.jpg', '05_brain_MRI_gray_noAPP0.jpg']) {
    await fs.copyFile(path.join(shared, name), path.join(imagesDir, name));
  }
  await fs.copyFile(path.join(shared, '08_skimage_cell_gray.png'), path.join(imagesDir, 'nested', 'cell.png'));
  await fs.writeFile(path.join(imagesDir, 'nested', 'broken.png'), 'not an image');
  await fs.writeFile(path.join(imagesDir, 'README.txt'), 'not indexed');
  clip = await BiomedCLIP.load(modelDir, { backend: 'cpu' });
});

after(async () => {
  clip?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('index: unreadable files are reported on stderr and in JSON, exit 3; others indexed', async () => {
  const index = path.join(tmp, 'idx');
  const r = await runCommand(indexCommand, [imagesDir, '--out', index, '--model', modelDir, '--backend', 'cpu', '--json', '--batch-size', '2']);
  assert.equal(r.code, 3);
  const json = JSON.parse(r.out);
  assert.equal(json.count, 4);
  assert.deepEqual(
    json.skipped.map((s: { path: string }) => s.path),
    ['nested/broken.png'],
  );
  assert.match(r.err, /skipped nested\/broken\.png: .*broken\.png/);
  assert.equal(json.otherFiles, 1);
  const info = JSON.parse(readFileSync(path.join(index, 'index.json'), 'utf8'));
  assert.equal(info.complete, true);
  assert.equal(info.skipped[0].path, 'nested/broken.png');
});

test('search: text and image results equal the cosine ranking computed by hand from embeddings', async () => {
  const index = path.join(tmp, 'idx');
  const reader = await IndexReader.open(index);
  assert.equal(reader.count, 4);
  await reader.close();
  const manifest = await indexRows(index, 16);
  const files = manifest.map((m) => path.join(imagesDir, m.path));
  const imageEmb = await clip.encodeImages(files, { batchSize: 1 });
  const scale = Math.exp(clip.model.logit_scale.dataSync()[0]);
  for (const [label, args, queryEmb] of [
    ['text', ['adenocarcinoma histopathology'], (await clip.encodeTexts(['adenocarcinoma histopathology']))[0].embedding],
    ['image', ['--image', files[2]], imageEmb[2].embedding],
  ] as const) {
    const r = await runCommand(searchCommand, [index, ...args, '--top', '3', '--json', '--backend', 'cpu']);
    assert.equal(r.code, 0, r.err);
    const got = JSON.parse(r.out).results as { path: string; cosine: number; logit: number }[];
    const byHand = manifest
      .map((m, i) => ({ path: m.path, cosine: dot(queryEmb, imageEmb[i].embedding) }))
      .sort((a, b) => b.cosine - a.cosine)
      .slice(0, 3);
    assert.deepEqual(
      got.map((g) => g.path),
      byHand.map((h) => h.path),
      `${label} ranking`,
    );
    const stats = diffStats(
      got.map((g) => g.cosine),
      byHand.map((h) => h.cosine),
    );
    reportDiff(`search ${label} cosine vs hand-computed`, stats, 1e-5);
    assert.ok(stats.maxAbs < 1e-5);
    for (const g of got) assert.ok(Math.abs(g.logit - scale * g.cosine) < 1e-4);
  }
  const self = JSON.parse((await runCommand(searchCommand, [index, '--image', files[2], '--top', '1', '--json'])).out).results[0];
  assert.equal(self.path, manifest[2].path, 'an indexed image finds itself first');
});

test('search: table and CSV output, argument errors', async () => {
  const index = path.join(tmp, 'idx');
  const table = await runCommand(searchCommand, [index, 'brain MRI', '--top', '2']);
  assert.match(table.out.split('\n')[0], /rank\s+cosine\s+logit\s+path/);
  assert.equal(table.out.split('\n').length, 3);
  const csv = await runCommand(searchCommand, [index, 'brain MRI', '--top', '2', '--csv']);
  assert.equal(csv.out.split('\n')[0], 'rank,cosine,logit,path');
  await assert.rejects(searchCommand.run([index]), (e: UserError) => e.exitCode === 2 && /exactly one/.test(e.message));
  await assert.rejects(searchCommand.run([index, 'q', '--top', '0']), /--top 0/);
  await assert.rejects(searchCommand.run([imagesDir, 'q']), /not an index/);
});

test('search refuses a model with other weights; index refuses to mix models or clobber a folder', async () => {
  const other = path.join(tmp, 'other-model');
  await makeVocabModel(other, 2);
  const index = path.join(tmp, 'idx');
  await assert.rejects(searchCommand.run([index, 'q', '--model', other]), /not the weights this index was built with/);
  await assert.rejects(indexCommand.run([imagesDir, '--out', index, '--model', other]), /built with another model/);
  await assert.rejects(indexCommand.run([imagesDir, '--out', imagesDir, '--model', modelDir]), /not empty/);
});

test('a lock left by a killed writer is taken over; the rerun changes no row', async () => {
  const index = path.join(tmp, 'idx');
  const before = await indexRows(index, 16);
  await fs.writeFile(path.join(index, '.lock'), '999999999\n'); // left by a killed writer (an older version's pid file)
  const result = await buildIndex(clip, { imagesDir, outDir: index });
  assert.equal(result.count, 4);
  assert.equal(result.added, 0);
  assert.deepEqual(await indexRows(index, 16), before);
  await assert.rejects(fs.stat(path.join(index, '.lock')), /ENOENT/);
});

test(
  '`index export --npy`: embeddings.npy loads in NumPy with the manifest row count, rows equal the table',
  { skip: spawnSync(TORCH_PYTHON, ['-c', 'import numpy']).status !== 0 && 'no numpy' },
  async () => {
    const out = path.join(tmp, 'exported');
    const r = await runCommand(indexCommand, ['export', path.join(tmp, 'idx'), '--npy', out, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).count, 4);
    const npy = path.join(out, 'embeddings.npy');
    const lines = readFileSync(path.join(out, 'manifest.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { row: number; path: string });
    const rows = new Map((await indexRows(path.join(tmp, 'idx'), 16)).map((x) => [x.path, x.embedding]));
    const script = [
      'import json, sys, numpy as np',
      `a = np.load(${JSON.stringify(npy)}, mmap_mode='r')`,
      'print(a.shape, a.dtype, float(abs((a ** 2).sum(1) - 1).max()))',
      'print(json.dumps(np.asarray(a).tolist()))',
    ].join('\n');
    const py = spawnSync(TORCH_PYTHON, ['-c', script], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const [summary, values] = py.stdout.trim().split('\n');
    console.log(`numpy: ${summary}`);
    assert.match(summary, /^\(4, 16\) float32 /);
    assert.ok(Number(summary.split(' ').pop()) < 1e-5);
    const loaded = JSON.parse(values) as number[][];
    let maxDiff = 0;
    lines.forEach((l, i) => {
      assert.equal(l.row, i);
      (rows.get(l.path) as Float32Array).forEach((v, k) => (maxDiff = Math.max(maxDiff, Math.abs(v - loaded[i][k]))));
    });
    console.log(`export: max |numpy row - table row| = ${maxDiff} (tolerance 0: the same float32 values)`);
    assert.equal(maxDiff, 0);
  },
);

test('named templates resolve; unknown names are one-line UserErrors listing the names', () => {
  assert.deepEqual(resolveTemplates('biomedclip'), ['this is an image of {}', '{} presented in image']);
  assert.deepEqual(resolveTemplates('openclip-default'), ['this is a photo of {}']);
  assert.deepEqual(resolveTemplates('a scan of {}'), ['a scan of {}']);
  assert.throws(() => resolveTemplates('toString'), /unknown template set; use one of biomedclip, openclip-default, none/);
});

test('label cache: a repeated label set runs the text tower once and returns equal copies', async () => {
  const cache = new LabelEmbeddingCache(2);
  const labels = ['adenocarcinoma', 'squamous cell carcinoma'];
  const templates = resolveTemplates('biomedclip');
  const direct = await clip.labelEmbeddings(labels, templates);
  const first = await cache.get(clip, labels, templates);
  first[0][0] = 42; // mutating a result must not touch the cache
  const second = await cache.get(clip, labels, templates);
  assert.equal(cache.misses, 1);
  assert.equal(cache.hits, 1);
  for (let i = 0; i < labels.length; i++) assert.deepEqual(second[i], direct[i]);
  await cache.get(clip, ['a'], templates);
  await cache.get(clip, ['b'], templates); // evicts the least recent (the first set)
  assert.equal(cache.size, 2);
  await cache.get(clip, labels, templates);
  assert.equal(cache.misses, 4);
  const failing = { labelEmbeddings: () => Promise.reject(new Error('boom')) };
  await assert.rejects(cache.get(failing, ['x'], templates), /boom/);
  await assert.rejects(cache.get(failing, ['x'], templates), /boom/);
  assert.equal(cache.misses, 6, 'failures are retried, not cached');
});
