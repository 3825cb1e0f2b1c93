/**
 * End to end with the real converter: a tiny BiomedCLIP checkpoint written by Debian's torch.save (from
 * the tiny fixture's weights, plus the unused `position_ids` buffer real checkpoints carry) is served by
 * the fake hub, downloaded, verified, converted, and compared tensor by tensor with the fixture (tolerance
 * 0: conversion to f32 must be bit-exact). Then the `biomedclip download` command itself, with --json.
 * Skipped, with a note, where /usr/bin/python3 has no torch.
 */
// test tier: full (PyTorch-made checkpoints: /usr/bin/python3 with torch)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { useBackend } from '../src/backends/select.js';
import { command } from '../src/cli/commands/download.js';
import { loadModel } from '../src/model/load.js';
import { downloadModel } from '../src/hub/download-model.js';
import { convertedModelDir, resolveModelDir } from '../src/hub/model-dir.js';
import { BIOMEDCLIP_REVISION } from '../src/hub/pins.js';
import { SafetensorsFile } from '../src/weights/reader.js';
import { f16ToF32, f32ToF16 } from '../src/weights/dtype.js';
import { diffStats, FIXTURES, reportDiff, TORCH_PYTHON } from './helpers.js';
import { FAKE_CLIP_COMMIT, FakeHub, fakeModelRepos, sha256 } from './support/fake-hub.js';

const TINY = path.join(FIXTURES, 'tiny');
const hasTorch = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Reads the fixture safetensors by hand (json header + raw f32) and torch.saves it as a zip checkpoint. */
const SAVE_CHECKPOINT = `
import collections, json, struct, sys, torch
src, dst = sys.argv[1], sys.argv[2]
raw = open(src, 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
header = json.loads(raw[8:8 + n])
sd = collections.OrderedDict()
for name, info in header.items():
    if name == '__metadata__':
        continue
    a, b = info['data_offsets']
    t = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=torch.float32)
    sd[name] = t.reshape(info['shape']).clone()
sd['text.transformer.embeddings.position_ids'] = torch.arange(512).unsqueeze(0)
torch.save(sd, dst)
`;

let tmp: string;
let hub: FakeHub | undefined;
let checkpoint: Buffer;

before(async () => {
  await useBackend('cpu');
  tmp = await mkdtemp(path.join(os.tmpdir(), 'biomedclip-hubconv-'));
  if (!hasTorch) return;
  const ckpt = path.join(tmp, 'open_clip_pytorch_model.bin');
  const py = spawnSync(TORCH_PYTHON, ['-c', SAVE_CHECKPOINT, path.join(TINY, 'model.safetensors'), ckpt], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  checkpoint = await readFile(ckpt);
  const vocab = Buffer.from(['[PAD]', '[unused0]', '[CLS]', '[SEP]', '[MASK]', '[UNK]', 'the', 'chest', 'x', '##ray'].join('\n') + '\n');
  const files = fakeModelRepos({ config: await readFile(path.join(TINY, 'open_clip_config.json')), vocab, checkpoint });
  hub = await FakeHub.start(files.repos);
});

after(async () => {
  await hub?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('download → convert with the real converter reproduces the fixture weights exactly', { skip: !hasTorch && 'no torch in /usr/bin/python3' }, async () => {
  const env = { HF_HOME: path.join(tmp, 'hf') };
  const notes: string[] = [];
  const result = await downloadModel({ revision: 'main', endpoint: hub!.endpoint, env, progress: false, onNote: (m) => notes.push(m) });
  assert.equal(result.modelDir, convertedModelDir(FAKE_CLIP_COMMIT, env));
  assert.ok(result.conversion !== null);
  assert.equal(result.conversion.sourceSha256, sha256(checkpoint));
  assert.ok(
    result.conversion.dropped.some((k) => k.endsWith('position_ids')),
    'the unused buffer is dropped',
  );

  const want = await SafetensorsFile.open(path.join(TINY, 'model.safetensors'));
  const got = await SafetensorsFile.open(path.join(result.modelDir, 'model.safetensors'));
  try {
    assert.deepEqual([...got.tensors.keys()].sort(), [...want.tensors.keys()].sort());
    let worst = { maxAbs: 0, maxRel: 0, cosine: 1 };
    for (const name of want.tensors.keys()) {
      const stats = diffStats(await got.readFloat32(name), await want.readFloat32(name));
      if (stats.maxAbs > worst.maxAbs || Number.isNaN(stats.maxAbs)) worst = stats;
    }
    reportDiff('downloaded+converted tiny checkpoint vs fixture, worst tensor', worst, 0);
    assert.equal(worst.maxAbs, 0);
  } finally {
    await want.close();
    await got.close();
  }
  assert.equal(await readFile(path.join(result.modelDir, 'vocab.txt'), 'utf8'), await readFile(result.files[1].path, 'utf8'));
});

test('converted into the default revision folder, the model is what resolveModelDir finds', { skip: !hasTorch && 'no torch in /usr/bin/python3' }, async () => {
  const env = { HF_HOME: path.join(tmp, 'hf2') };
  const outDir = convertedModelDir(BIOMEDCLIP_REVISION, env);
  await downloadModel({ revision: 'main', outDir, endpoint: hub!.endpoint, env, progress: false });
  assert.equal(resolveModelDir(undefined, env), outDir);
});

test('`biomedclip download --json` reports files, commit and the model directory', { skip: !hasTorch && 'no torch in /usr/bin/python3' }, async () => {
  const saved = { home: process.env.HF_HOME, log: console.log, error: console.error };
  const out: string[] = [];
  process.env.HF_HOME = path.join(tmp, 'hf3');
  console.log = (s: string) => out.push(s);
  console.error = () => undefined;
  try {
    const code = await command.run(['--revision', 'main', '--endpoint', hub!.endpoint, '--json']);
    assert.equal(code, 0);
  } finally {
    console.log = saved.log;
    console.error = saved.error;
    if (saved.home === undefined) delete process.env.HF_HOME;
    else process.env.HF_HOME = saved.home;
  }
  const report = JSON.parse(out.join('\n')) as { commit: string; converted: boolean; modelDir: string; files: { file: string; source: string }[] };
  assert.equal(report.commit, FAKE_CLIP_COMMIT);
  assert.equal(report.converted, true);
  assert.equal(report.modelDir, path.join(tmp, 'hf3', 'biomedclip-ts', FAKE_CLIP_COMMIT));
  assert.deepEqual(
    report.files.map((f) => [f.file, f.source]),
    [
      ['open_clip_config.json', 'downloaded'],
      ['vocab.txt', 'downloaded'],
      ['open_clip_pytorch_model.bin', 'downloaded'],
    ],
  );
});

test(
  'download --force whose conversion fails partway leaves the previous model directory loading as before',
  { skip: !hasTorch && 'no torch in /usr/bin/python3' },
  async () => {
    const env = { HF_HOME: path.join(tmp, 'hf4') };
    const first = await downloadModel({ revision: 'main', endpoint: hub!.endpoint, env, progress: false });
    const snapshot = async () =>
      Object.fromEntries(
        await Promise.all((await readdir(first.modelDir)).sort().map(async (f) => [f, (await readFile(path.join(first.modelDir, f))).toString('base64')])),
      );
    const before = await snapshot();
    // Another hub serves the same files with one byte of the checkpoint's tensor data flipped: its zip CRC fails
    // while the new model file is being written.
    const corrupt = Buffer.from(checkpoint);
    corrupt[corrupt.length >> 1] ^= 0xff;
    const broken = await FakeHub.start(
      fakeModelRepos({
        config: await readFile(path.join(TINY, 'open_clip_config.json')),
        vocab: Buffer.from('[PAD]\n[UNK]\n[CLS]\n[SEP]\n'),
        checkpoint: corrupt,
      }).repos,
    );
    try {
      await assert.rejects(
        downloadModel({
          revision: 'main',
          endpoint: broken.endpoint,
          env: { HF_HOME: path.join(tmp, 'hf4-broken') },
          outDir: first.modelDir,
          force: true,
          progress: false,
        }),
        /CRC-32/,
      );
    } finally {
      await broken.close();
    }
    assert.deepEqual(await snapshot(), before);
    const model = await loadModel(first.modelDir);
    model.dispose();
    assert.deepEqual(
      (await readdir(path.dirname(first.modelDir))).filter((f) => f.startsWith('.')),
      [],
      'no staging directory left',
    );
  },
);

test('bad flags are a usage error (exit code 2) naming --help', async () => {
  await assert.rejects(command.run(['--nope']), (e: Error & { exitCode?: number }) => {
    assert.equal(e.exitCode, 2);
    assert.match(e.message, /biomedclip download --help/);
    return true;
  });
  await assert.rejects(
    command.run(['--dtype', 'f8']),
    (e: Error & { exitCode?: number }) => e.exitCode === 2 && /--dtype f8: expected f32 or f16/.test(e.message),
  );
  assert.match(command.usage, /--dtype f32\|f16/);
});

test(
  '`biomedclip download --dtype f16` writes half-size F16 weights: the fixture rounded once to f16, loading as a model',
  { skip: !hasTorch && 'no torch in /usr/bin/python3' },
  async () => {
    const saved = { home: process.env.HF_HOME, log: console.log, error: console.error };
    const out: string[] = [];
    process.env.HF_HOME = path.join(tmp, 'hf5');
    console.log = (s: string) => out.push(s);
    console.error = () => undefined;
    try {
      assert.equal(await command.run(['--revision', 'main', '--endpoint', hub!.endpoint, '--dtype', 'f16', '--json']), 0);
    } finally {
      console.log = saved.log;
      console.error = saved.error;
      if (saved.home === undefined) delete process.env.HF_HOME;
      else process.env.HF_HOME = saved.home;
    }
    const report = JSON.parse(out.join('\n')) as { modelDir: string; conversion: { dtype: string; bytes: number } };
    assert.equal(report.conversion.dtype, 'f16');
    const f32Bytes = (await stat(path.join(TINY, 'model.safetensors'))).size;
    console.log(`tiny model: ${f32Bytes} bytes as f32, ${report.conversion.bytes} as f16`);
    assert.ok(Math.abs(report.conversion.bytes / f32Bytes - 0.5) < 0.02, `${report.conversion.bytes} vs ${f32Bytes}`);
    const want = await SafetensorsFile.open(path.join(TINY, 'model.safetensors'));
    const got = await SafetensorsFile.open(path.join(report.modelDir, 'model.safetensors'));
    try {
      for (const [name, info] of got.tensors) {
        assert.equal(info.dtype, 'F16', name);
        assert.deepEqual(await got.readFloat32(name), f16ToF32(f32ToF16(await want.readFloat32(name))), name);
      }
      assert.equal(got.metadata.dtype, 'f16');
    } finally {
      await want.close();
      await got.close();
    }
    const model = await loadModel(report.modelDir);
    model.dispose();
  },
);
