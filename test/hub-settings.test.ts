/**
 * The small rules of the hub client: environment conventions (HF_HOME, HF_HUB_CACHE, HF_ENDPOINT,
 * HF_TOKEN and the token file), resolve URLs, ETag normalization, content hashes, pins, and
 * resolveModelDir (the --model / cached-model / "run biomedclip download" choice).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { repoFolderName } from '../src/hub/cache.js';
import { normalizeEtag, resolveUrl } from '../src/hub/metadata.js';
import { convertedModelDir, resolveModelDir } from '../src/hub/model-dir.js';
import { BIOMEDBERT_REVISION, BIOMEDCLIP_CHECKPOINT, BIOMEDCLIP_REVISION, COMMIT_HASH } from '../src/hub/pins.js';
import { hubSettings, resolveEndpoint } from '../src/hub/settings.js';
import { etagKind } from '../src/hub/verify.js';
import { fileDigest } from '../src/util/digest.js';

let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'biomedclip-hubset-'));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test('cache and endpoint follow the huggingface_hub environment conventions', () => {
  const plain = hubSettings({ env: { HOME: '/home/u' } });
  assert.equal(plain.hfHome, '/home/u/.cache/huggingface');
  assert.equal(plain.hubCache, '/home/u/.cache/huggingface/hub');
  assert.equal(plain.endpoint, 'https://huggingface.co');
  assert.equal(hubSettings({ env: { HOME: '/h', XDG_CACHE_HOME: '/x' } }).hfHome, '/x/huggingface');
  assert.equal(hubSettings({ env: { HF_HOME: '/data/hf' } }).hubCache, '/data/hf/hub');
  assert.equal(hubSettings({ env: { HF_HOME: '/data/hf', HF_HUB_CACHE: '/fast/hub' } }).hubCache, '/fast/hub');
  assert.equal(hubSettings({ env: { HF_HOME: '~/hf', HOME: '/home/u' } }).hfHome, '/home/u/hf');
  assert.equal(hubSettings({ env: { HF_ENDPOINT: 'https://mirror.example/' } }).endpoint, 'https://mirror.example');
  assert.equal(resolveEndpoint('http://127.0.0.1:9/hf/', { HF_ENDPOINT: 'https://other' }), 'http://127.0.0.1:9/hf', '--endpoint wins');
});

test('the token comes from HF_TOKEN, else the token file huggingface-cli login writes', async () => {
  const home = path.join(tmp, 'tok');
  await mkdir(home, { recursive: true });
  assert.equal(hubSettings({ env: { HF_HOME: home } }).token, undefined);
  await writeFile(path.join(home, 'token'), 'hf_fromfile\n');
  assert.equal(hubSettings({ env: { HF_HOME: home } }).token, 'hf_fromfile');
  assert.equal(hubSettings({ env: { HF_HOME: home, HF_TOKEN: 'hf_env' } }).token, 'hf_env');
  assert.equal(hubSettings({ env: { HF_HOME: home, HUGGING_FACE_HUB_TOKEN: 'hf_old' } }).token, 'hf_old');
});

test('resolve URLs escape the revision whole and the file path per segment', () => {
  assert.equal(
    resolveUrl('https://huggingface.co', 'microsoft/x', 'refs/pr/1', 'sub dir/a+b.json'),
    'https://huggingface.co/microsoft/x/resolve/refs%2Fpr%2F1/sub%20dir/a%2Bb.json',
  );
  assert.equal(repoFolderName('microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224'), 'models--microsoft--BiomedCLIP-PubMedBERT_256-vit_base_patch16_224');
});

test('ETags lose their quotes and weak marker; their kind says which hash to check', () => {
  assert.equal(normalizeEtag('"abc123"'), 'abc123');
  assert.equal(normalizeEtag('W/"abc123"'), 'abc123');
  assert.equal(normalizeEtag('""'), undefined);
  assert.equal(etagKind('a'.repeat(64)), 'sha256');
  assert.equal(etagKind('b'.repeat(40)), 'git-sha1');
  assert.equal(etagKind('1234-abcd'), undefined);
});

test('git blob sha1 matches `git hash-object`, sha256 matches node:crypto', async () => {
  const file = path.join(tmp, 'hello.txt');
  await writeFile(file, 'hello\n');
  // `printf 'hello\n' | git hash-object --stdin` = ce013625030ba8dba906f756967f9e9ca394464a
  assert.equal(await fileDigest(file, 'git-sha1'), 'ce013625030ba8dba906f756967f9e9ca394464a');
  assert.equal(await fileDigest(file, 'sha256'), createHash('sha256').update('hello\n').digest('hex'));
});

test('the pins are full commit hashes, and the checkpoint pin is a sha256', () => {
  assert.match(BIOMEDCLIP_REVISION, COMMIT_HASH);
  assert.match(BIOMEDBERT_REVISION, COMMIT_HASH);
  assert.match(BIOMEDCLIP_CHECKPOINT.pinnedSha256 ?? '', /^[0-9a-f]{64}$/);
});

test('resolveModelDir: --model must exist; else the cached default model; else run biomedclip download', async () => {
  const env = { HF_HOME: path.join(tmp, 'hfhome') };
  assert.throws(
    () => resolveModelDir(undefined, env),
    (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, 'no model found: run `biomedclip download` (or pass --model DIR)');
      return true;
    },
  );
  assert.throws(() => resolveModelDir(path.join(tmp, 'nope'), env), /--model .*nope: no such directory/);
  const file = path.join(tmp, 'a-file');
  await writeFile(file, '');
  assert.throws(() => resolveModelDir(file, env), /not a directory/);
  assert.equal(resolveModelDir(tmp, env), tmp);

  const cached = convertedModelDir(BIOMEDCLIP_REVISION, env);
  assert.equal(cached, path.join(env.HF_HOME, 'biomedclip-ts', BIOMEDCLIP_REVISION));
  await mkdir(cached, { recursive: true });
  assert.throws(() => resolveModelDir(undefined, env), /no model found/, 'an empty folder is not a model');
  await writeFile(path.join(cached, 'model.safetensors'), '');
  assert.equal(resolveModelDir(undefined, env), cached);
  assert.equal(resolveModelDir(tmp, env), tmp, '--model wins over the cache');
});
