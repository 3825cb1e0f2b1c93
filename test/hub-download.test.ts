/**
 * `downloadModel` against a local fake hub (test/support/fake-hub.ts): redirects to a CDN, ETags, the
 * huggingface_hub cache layout, the token policy, resume with Range (within a run and after a killed
 * process), a server that ignores Range, a second run that needs no network, and --dtype reaching the
 * converter (and converting again a directory of the other type). Files are a few KB; the
 * converter is a stub that records what it was given (the real one is exercised in hub-convert.test.ts).
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { downloadModel, type ConvertOptions, type Converter, type DownloadModelOptions } from '../src/hub/download-model.js';
import { BIOMEDCLIP_REPO } from '../src/hub/pins.js';
import { writeSafetensors } from '../src/weights/writer.js';
import {
  FAKE_BERT_COMMIT,
  FAKE_CLIP_COMMIT,
  FakeHub,
  fakeModelRepos,
  gitBlobSha1,
  pseudoRandomBytes,
  sha256,
  type FakeModelFiles,
} from './support/fake-hub.js';

let home: string;
let hub: FakeHub;
let files: FakeModelFiles;
let calls: ConvertOptions[];
let notes: string[];

const stubConverter: Converter = async (opts) => {
  calls.push(opts);
  await mkdir(opts.outDir, { recursive: true });
  // A one-tensor model file of the asked storage type: enough for a later run to see which type the directory holds.
  const dtype = opts.dtype === 'f16' ? 'F16' : 'F32';
  await writeSafetensors(path.join(opts.outDir, 'model.safetensors'), [
    { name: 'w', dtype, shape: [1], data: dtype === 'F16' ? new Uint16Array(1) : new Float32Array(1) },
  ]);
  return {
    tensors: 1,
    parameters: 1,
    dropped: [],
    sourceSha256: '',
    sha256: '',
    outFile: path.join(opts.outDir, 'model.safetensors'),
    dtype: opts.dtype ?? 'f32',
    bytes: 4,
  };
};

const clipRoot = () => path.join(home, 'hub', 'models--microsoft--BiomedCLIP-PubMedBERT_256-vit_base_patch16_224');
const bertRoot = () => path.join(home, 'hub', 'models--microsoft--BiomedNLP-BiomedBERT-base-uncased-abstract');

function run(extra: Partial<DownloadModelOptions> = {}) {
  return downloadModel({
    revision: 'main',
    endpoint: hub.endpoint,
    env: { HF_HOME: home },
    progress: false,
    convert: stubConverter,
    retryDelayMs: 1,
    onNote: (m) => notes.push(m),
    ...extra,
  });
}

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'biomedclip-hub-'));
  files = fakeModelRepos({ checkpoint: pseudoRandomBytes(16384, 7) });
  hub = await FakeHub.start(files.repos);
  calls = [];
  notes = [];
});

afterEach(async () => {
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

test('downloads the three files through the 302 to the CDN, into the huggingface_hub cache layout', async () => {
  const result = await run();
  assert.equal(result.commit, FAKE_CLIP_COMMIT);
  assert.deepEqual(
    result.files.map((f) => f.source),
    ['downloaded', 'downloaded', 'downloaded'],
  );
  const oid = sha256(files.checkpoint);
  // blobs are named by content id: sha256 for LFS, git blob sha1 for plain files
  assert.deepEqual(await readFile(path.join(clipRoot(), 'blobs', oid)), files.checkpoint);
  assert.deepEqual(await readFile(path.join(clipRoot(), 'blobs', gitBlobSha1(files.config))), files.config);
  assert.deepEqual(await readFile(path.join(bertRoot(), 'blobs', gitBlobSha1(files.vocab))), files.vocab);
  // snapshots/<commit>/<file> are relative symlinks into blobs/
  const link = path.join(clipRoot(), 'snapshots', FAKE_CLIP_COMMIT, 'open_clip_pytorch_model.bin');
  assert.ok((await lstat(link)).isSymbolicLink());
  assert.equal(await readlink(link), path.join('..', '..', 'blobs', oid));
  // refs/main records the commit the branch resolved to; a commit revision writes no ref
  assert.equal(await readFile(path.join(clipRoot(), 'refs', 'main'), 'utf8'), FAKE_CLIP_COMMIT);
  await assert.rejects(lstat(path.join(bertRoot(), 'refs', FAKE_BERT_COMMIT)));
  assert.deepEqual(result.files[2].verified, ['sha256 (LFS oid)']);
  assert.deepEqual(result.files[0].verified, ['git blob sha1']);
  // the checkpoint bytes came from the CDN server, after the hub's redirect
  assert.equal(hub.requests({ server: 'cdn', method: 'GET' }).length, 1);
});

test('hands the snapshot paths to the converter and converts into $HF_HOME/biomedclip-ts/<commit>', async () => {
  const result = await run();
  assert.equal(calls.length, 1);
  const snap = path.join(clipRoot(), 'snapshots', FAKE_CLIP_COMMIT);
  assert.equal(calls[0].checkpoint, path.join(snap, 'open_clip_pytorch_model.bin'));
  assert.equal(calls[0].config, path.join(snap, 'open_clip_config.json'));
  assert.equal(calls[0].vocab, path.join(bertRoot(), 'snapshots', FAKE_BERT_COMMIT, 'vocab.txt'));
  assert.equal(calls[0].outDir, path.join(home, 'biomedclip-ts', FAKE_CLIP_COMMIT));
  assert.equal(result.modelDir, calls[0].outDir);
  const out = path.join(home, 'custom-out');
  await run({ outDir: out, force: true });
  assert.equal(calls[1].outDir, out);
});

test('a second run with a commit revision touches no network and does not convert again', async () => {
  await run({ revision: FAKE_CLIP_COMMIT });
  const before = hub.log.length;
  const again = await run({ revision: FAKE_CLIP_COMMIT });
  assert.equal(hub.log.length, before, 'no request at all');
  assert.deepEqual(
    again.files.map((f) => f.source),
    ['cached', 'cached', 'cached'],
  );
  assert.equal(again.conversion, null);
  assert.equal(calls.length, 1);
  await run({ revision: FAKE_CLIP_COMMIT, force: true });
  assert.equal(calls.length, 2, '--force converts again');
});

test('a branch revision asks the hub again (HEAD only) but transfers nothing twice', async () => {
  await run();
  const gets = hub.requests({ method: 'GET' }).length;
  const again = await run();
  assert.equal(hub.requests({ method: 'GET' }).length, gets);
  assert.deepEqual(
    again.files.map((f) => f.source),
    ['cached', 'cached', 'cached'],
  );
});

test('HF_TOKEN goes to the hub and never to the CDN host', async () => {
  hub.faults.requireToken = 'hf_secret';
  await run({ env: { HF_HOME: home, HF_TOKEN: 'hf_secret' } });
  const hubReqs = hub.requests({ server: 'hub' });
  assert.ok(hubReqs.length >= 3);
  assert.ok(hubReqs.every((r) => r.authorization === 'Bearer hf_secret'));
  const cdnReqs = hub.requests({ server: 'cdn' });
  assert.equal(cdnReqs.length, 1);
  assert.equal(cdnReqs[0].authorization, undefined);
});

test('follows a relative Location on the hub origin (and may keep the token there)', async () => {
  hub.faults.relativeRedirect = true;
  const result = await run({ env: { HF_HOME: home, HF_TOKEN: 'hf_x' } });
  assert.deepEqual(await readFile(result.files[2].path), files.checkpoint);
  assert.equal(hub.requests({ server: 'cdn' }).length, 0);
  const lfs = hub.log.filter((r) => r.path.startsWith('/lfs/') && r.method === 'GET');
  assert.equal(lfs.length, 1);
  assert.equal(lfs[0].authorization, 'Bearer hf_x', 'same origin as the endpoint');
});

test("follows the hub's relative 307 to its resolve cache for small files, taking the headers at the end", async () => {
  hub.faults.resolveCache = true;
  const result = await run();
  assert.deepEqual(await readFile(result.files[0].path), files.config);
  assert.deepEqual(result.files[0].verified, ['git blob sha1']);
  assert.ok(hub.log.some((r) => r.path.startsWith('/api/resolve-cache/') && r.method === 'HEAD'));
});

test('a connection cut mid-file is resumed with Range and 206 in the same run', async () => {
  hub.faults.cut = { afterBytes: 5000, times: 2 };
  const result = await run();
  assert.deepEqual(await readFile(result.files[2].path), files.checkpoint);
  const gets = hub.requests({ server: 'cdn', method: 'GET' });
  assert.equal(gets.length, 3, 'two cut attempts, then the rest');
  assert.equal(gets[0].range, undefined);
  assert.match(gets[1].range ?? '', /^bytes=[1-9]\d*-$/);
  assert.match(gets[2].range ?? '', /^bytes=[1-9]\d*-$/);
  assert.ok(notes.some((n) => /retrying/.test(n)));
  assert.ok(
    notes.every((n) => !n.includes('sig=')),
    'signed CDN query strings stay out of messages',
  );
});

test('resumes the .incomplete file a killed process left behind', async () => {
  const oid = sha256(files.checkpoint);
  await mkdir(path.join(clipRoot(), 'blobs'), { recursive: true });
  await writeFile(path.join(clipRoot(), 'blobs', `${oid}.incomplete`), files.checkpoint.subarray(0, 6000));
  const result = await run();
  assert.equal(result.files[2].source, 'resumed');
  assert.deepEqual(await readFile(result.files[2].path), files.checkpoint);
  const gets = hub.requests({ server: 'cdn', method: 'GET' });
  assert.deepEqual(
    gets.map((g) => [g.range, g.status]),
    [['bytes=6000-', 206]],
  );
  await assert.rejects(lstat(path.join(clipRoot(), 'blobs', `${oid}.incomplete`)), 'renamed to the blob');
});

test('a 200 answer to a Range request restarts the file cleanly instead of appending', async () => {
  const oid = sha256(files.checkpoint);
  await mkdir(path.join(clipRoot(), 'blobs'), { recursive: true });
  await writeFile(path.join(clipRoot(), 'blobs', `${oid}.incomplete`), files.checkpoint.subarray(0, 6000));
  hub.faults.ignoreRange = true;
  const result = await run();
  assert.deepEqual(await readFile(result.files[2].path), files.checkpoint);
  assert.deepEqual(
    hub.requests({ server: 'cdn', method: 'GET' }).map((g) => g.status),
    [200],
  );
});

test('a partial file longer than the hub says the file is gets discarded, not trusted', async () => {
  const oid = sha256(files.checkpoint);
  await mkdir(path.join(clipRoot(), 'blobs'), { recursive: true });
  await writeFile(path.join(clipRoot(), 'blobs', `${oid}.incomplete`), Buffer.alloc(files.checkpoint.length + 10));
  const result = await run();
  assert.deepEqual(await readFile(result.files[2].path), files.checkpoint);
});

test('two revisions with the same checkpoint share one blob', async () => {
  const repo = files.repos[BIOMEDCLIP_REPO];
  const other = 'abcdefabcdefabcdefabcdefabcdefabcdefabcd';
  files.repos[BIOMEDCLIP_REPO] = { ...repo, refs: { ...repo.refs, v2: other } };
  await run();
  const gets = hub.requests({ server: 'cdn', method: 'GET' }).length;
  const second = await run({ revision: 'v2' });
  assert.equal(hub.requests({ server: 'cdn', method: 'GET' }).length, gets, 'blob reused, no transfer');
  assert.equal(second.files[2].path, path.join(clipRoot(), 'snapshots', other, 'open_clip_pytorch_model.bin'));
  assert.deepEqual(await readFile(second.files[2].path), files.checkpoint);
});

test('--dtype reaches the converter; asked explicitly, it converts again a directory holding the other type', async () => {
  await run({ revision: FAKE_CLIP_COMMIT });
  assert.equal(calls[0].dtype, undefined, "the converter's default, f32");
  await run({ revision: FAKE_CLIP_COMMIT });
  assert.equal(calls.length, 1, 'no --dtype: the f32 model stays');
  assert.ok(
    notes.some((n) => /already holds a converted model \(f32\)/.test(n)),
    notes.join(' | '),
  );
  await run({ revision: FAKE_CLIP_COMMIT, dtype: 'f32' });
  assert.equal(calls.length, 1, '--dtype f32 on an f32 model: nothing to do');
  const f16 = await run({ revision: FAKE_CLIP_COMMIT, dtype: 'f16' });
  assert.equal(calls.length, 2);
  assert.equal(calls[1].dtype, 'f16');
  assert.equal(f16.conversion?.dtype, 'f16');
  assert.ok(
    notes.some((n) => /holds f32 weights: converting again as f16/.test(n)),
    notes.join(' | '),
  );
  await run({ revision: FAKE_CLIP_COMMIT });
  assert.equal(calls.length, 2, 'no --dtype: the f16 model stays');
  await run({ revision: FAKE_CLIP_COMMIT, dtype: 'f32' });
  assert.equal(calls.length, 3, '--dtype f32 converts the f16 model back');
});
