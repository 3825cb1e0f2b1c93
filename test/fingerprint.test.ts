/**
 * The model fingerprint covers the whole weights file (issue 10, item 9): two models that differ in one
 * weight in the middle of the file have different fingerprints, so search refuses to rank an index with the
 * other one. The digest is stored in DIR/fingerprint.json and recomputed when missing or stale.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeDemoModel } from '../src/demo/demo-model.js';
import { FINGERPRINT_FILE } from '../src/model-files.js';
import { modelFingerprint } from '../src/weights/fingerprint.js';
import { SafetensorsFile } from '../src/weights/index.js';
import { cli as runCli, EXAMPLE_IMAGES } from './helpers.js';

let dir = '';
let a = '';
let b = '';

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-fingerprint-'));
  a = path.join(dir, 'a');
  b = path.join(dir, 'b');
  await writeDemoModel(a);
  mkdirSync(b);
  for (const f of ['open_clip_config.json', 'vocab.txt', 'model.safetensors']) copyFileSync(path.join(a, f), path.join(b, f));
  // One float in the middle of the file, far from the first and last 64 KiB, changes in b.
  const file = await SafetensorsFile.open(path.join(b, 'model.safetensors'));
  const info = file.info('text.transformer.encoder.layer.0.intermediate.dense.weight');
  await file.close();
  const size = statSync(path.join(b, 'model.safetensors')).size;
  const offset = info.byteOffset + 4 * 10;
  assert.ok(offset > 64 * 1024 && offset < size - 64 * 1024, 'the changed weight is in the middle of the file');
  const bytes = readFileSync(path.join(b, 'model.safetensors'));
  bytes.writeFloatLE(bytes.readFloatLE(offset) + 0.5, offset);
  writeFileSync(path.join(b, 'model.safetensors'), bytes);
});

after(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(...args, '--backend', 'cpu');

test('two models that differ in one middle weight have different fingerprints', async () => {
  const fa = await modelFingerprint(a);
  const fb = await modelFingerprint(b);
  assert.match(fa, /^sha256:[0-9a-f]{32}$/);
  assert.notEqual(fa, fb);
  assert.equal(await modelFingerprint(a), fa, 'stable');
});

test('the digest is stored in fingerprint.json, recomputed when missing or when the weights changed', async () => {
  const c = path.join(dir, 'c');
  mkdirSync(c);
  for (const f of ['open_clip_config.json', 'vocab.txt', 'model.safetensors']) copyFileSync(path.join(a, f), path.join(c, f));
  const weights = path.join(c, 'model.safetensors');
  const sha = createHash('sha256').update(readFileSync(weights)).digest('hex');
  const first = await modelFingerprint(c);
  const stored = JSON.parse(readFileSync(path.join(c, FINGERPRINT_FILE), 'utf8'));
  assert.equal(stored.weights.sha256, sha, 'the whole file is hashed');
  // Weights replaced by others of the same size: the stored record is stale (mtime) and recomputed.
  copyFileSync(path.join(b, 'model.safetensors'), weights);
  utimesSync(weights, new Date(), new Date(Date.now() + 5000));
  assert.equal(await modelFingerprint(c), await modelFingerprint(b));
  assert.notEqual(await modelFingerprint(c), first);
  rmSync(path.join(c, FINGERPRINT_FILE));
  assert.equal(await modelFingerprint(c), await modelFingerprint(b), 'recomputed when missing');
  assert.ok(existsSync(path.join(c, FINGERPRINT_FILE)));
});

test('search refuses a model whose middle weights differ from the indexing one; an old sampled-fingerprint index says rebuild', () => {
  const images = path.join(dir, 'images');
  mkdirSync(images);
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'a.jpeg'));
  const index = path.join(dir, 'index');
  const built = cli('index', images, '--out', index, '--model', a, '--quiet');
  assert.equal(built.status, 0, built.stderr);
  assert.equal(cli('search', index, 'tumor', '--model', a, '--quiet').status, 0);
  const other = cli('search', index, 'tumor', '--model', b, '--quiet');
  assert.equal(other.status, 1);
  assert.match(other.stderr, /not the weights this index was built with/);
  const infoFile = path.join(index, 'index.json');
  const info = JSON.parse(readFileSync(infoFile, 'utf8'));
  info.model.fingerprint = 'sha256-sampled:0123456789abcdef0123456789abcdef';
  writeFileSync(infoFile, JSON.stringify(info));
  const legacy = cli('search', index, 'tumor', '--model', a, '--quiet');
  assert.equal(legacy.status, 1);
  assert.match(legacy.stderr, /older version whose model fingerprint covered only part of the weights; rebuild it/);
});
