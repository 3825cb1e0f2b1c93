/**
 * `convertCheckpoint` and `biomedclip convert` on checkpoints written by Debian's torch: the model file
 * matches the torch reference tensor by tensor, passes the model loader's own validation, records its
 * provenance, and every refused input leaves no model.safetensors and no temporary file behind.
 */
// test tier: full (PyTorch-made checkpoints: /usr/bin/python3 with torch)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { convertCheckpoint, type ConvertOptions } from '../src/convert/convert.js';
import { command } from '../src/cli/commands/convert.js';
import { loadModelConfig, validateTensors } from '../src/model/load.js';
import { SafetensorsFile } from '../src/weights/reader.js';
import { f16ToF32, f32ToF16 } from '../src/weights/dtype.js';
import { diffStats, reportDiff } from './helpers.js';
import { makeTorchFixtures } from './fixtures/weights/make.js';

let fx = '';
let work = '';
before(() => {
  fx = makeTorchFixtures();
  work = mkdtempSync(path.join(os.tmpdir(), 'convert-test-'));
  process.on('exit', () => rmSync(work, { recursive: true, force: true }));
  writeFileSync(path.join(work, 'long-vocab.txt'), readFileSync(path.join(fx, 'vocab.txt'), 'utf8') + 'one-too-many\n');
  mkdirSync(path.join(work, 'alone'));
  copyFileSync(path.join(fx, 'tiny.pt'), path.join(work, 'alone', 'tiny.pt'));
});

let outCount = 0;
function run(checkpoint: string, extra: Partial<ConvertOptions> = {}) {
  const outDir = path.join(work, `out-${outCount++}`);
  const notes: string[] = [];
  const opts: ConvertOptions = {
    checkpoint: path.resolve(fx, checkpoint),
    outDir,
    config: path.join(fx, 'open_clip_config.json'),
    vocab: path.join(fx, 'vocab.txt'),
    onNote: (m) => notes.push(m),
    ...extra,
  };
  return { outDir, notes, promise: convertCheckpoint(opts) };
}

/** Every tensor of the model file equals the reference (rounded to f16 first when `half`). */
async function matchesReference(outFile: string, half = false): Promise<void> {
  const ref = await SafetensorsFile.open(path.join(fx, 'expected.safetensors'));
  const got = await SafetensorsFile.open(outFile);
  let worst = 0;
  try {
    const cfg = loadModelConfig(path.dirname(outFile));
    assert.deepEqual(validateTensors(outFile, got.tensors, cfg), [], "the model loader's validation passes");
    assert.equal(got.tensors.size, ref.tensors.size);
    for (const name of ref.tensors.keys()) {
      const want = await ref.readFloat32(name);
      const have = await got.readFloat32(name);
      const target = half ? f16ToF32(f32ToF16(want)) : want;
      assert.deepEqual(have, target, name);
      worst = Math.max(worst, diffStats(have, target).maxAbs);
    }
  } finally {
    await ref.close();
    await got.close();
  }
  reportDiff(`${path.basename(path.dirname(outFile))} vs torch reference`, { maxAbs: worst, maxRel: 0, cosine: 1 }, 0);
}

test('tiny.pt converts: values, files, dropped position_ids, provenance', async () => {
  const { outDir, notes, promise } = run('tiny.pt');
  const report = await promise;
  assert.equal(report.tensors, 71);
  assert.deepEqual(report.dropped, ['text.transformer.embeddings.position_ids']);
  assert.ok(notes.some((n) => /dropped 1 tensors/.test(n)));
  const sha = createHash('sha256')
    .update(readFileSync(path.join(fx, 'tiny.pt')))
    .digest('hex');
  assert.equal(report.sourceSha256, sha);
  assert.equal(report.outFile, path.join(outDir, 'model.safetensors'));
  assert.deepEqual(readdirSync(outDir).sort(), ['fingerprint.json', 'model.safetensors', 'open_clip_config.json', 'vocab.txt']);
  const stored = JSON.parse(readFileSync(path.join(outDir, 'fingerprint.json'), 'utf8'));
  assert.equal(stored.weights.sha256, createHash('sha256').update(readFileSync(report.outFile)).digest('hex'), 'the whole file, hashed as it was written');
  assert.equal(stored.weights.sha256, report.sha256);
  assert.equal(stored.provenance.source_sha256, sha);
  assert.equal(readFileSync(path.join(outDir, 'vocab.txt'), 'utf8'), readFileSync(path.join(fx, 'vocab.txt'), 'utf8'));
  const st = await SafetensorsFile.open(report.outFile);
  assert.equal(st.metadata.source_sha256, sha);
  assert.equal(st.metadata.source_format, 'torch-zip');
  assert.match(st.metadata.converter, /^biomedclip-ts \d+\.\d+\.\d+/);
  assert.deepEqual(st.tensors.get('logit_scale')!.shape, []);
  const params = [...st.tensors.values()].reduce((a, t) => a + t.byteLength / 4, 0);
  assert.equal(report.parameters, params);
  await st.close();
  await matchesReference(report.outFile);
});

test('f16 source, f16 output, views, big-endian, module. prefix and safetensors input all convert', async () => {
  await matchesReference((await run('tiny_f16.pt').promise).outFile, true);
  await matchesReference((await run('tiny.pt', { dtype: 'f16' }).promise).outFile, true);
  await matchesReference((await run('tiny_views.pt').promise).outFile);
  await matchesReference((await run('tiny_big.pt').promise).outFile);
  const mod = run('tiny_module.pt');
  const report = await mod.promise;
  assert.ok(
    mod.notes.some((n) => /stripped the "module\." prefix from 74 keys/.test(n)),
    mod.notes.join(' | '),
  );
  assert.deepEqual(report.dropped.sort(), [
    'text.transformer.embeddings.position_ids',
    'text.transformer.pooler.dense.bias',
    'text.transformer.pooler.dense.weight',
  ]);
  await matchesReference(report.outFile);
  const st = run('expected.safetensors');
  await matchesReference((await st.promise).outFile);
});

/** The conversion fails with a one-line UserError and leaves no model file and no temporary file. */
async function refusedCleanly(checkpoint: string, pattern: RegExp, extra: Partial<ConvertOptions> = {}): Promise<void> {
  const { outDir, promise } = run(checkpoint, extra);
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'));
    assert.match(err.message, pattern);
    console.log(`${checkpoint}: ${err.message}`);
    return true;
  });
  assert.equal(existsSync(path.join(outDir, 'model.safetensors')), false, 'no model file');
  const temps = existsSync(outDir) ? readdirSync(outDir).filter((f) => f.includes('.tmp-')) : [];
  assert.deepEqual(temps, [], 'no temporary files');
}

test('key and shape problems are refused before anything is written', async () => {
  await refusedCleanly('tiny_missing_key.pt', /missing 1 tensors .*visual\.trunk\.norm\.bias/);
  await refusedCleanly('tiny_wrong_shape.pt', /visual\.head\.proj\.weight \[17,32\] \(expected \[16,32\]\)/);
  await refusedCleanly('tiny_unexpected_key.pt', /does not expect: visual\.trunk\.head\.weight/);
  // Without the tiny config, the built-in BiomedCLIP config does not fit the tiny checkpoint.
  await refusedCleanly(path.join(work, 'alone', 'tiny.pt'), /missing 280 tensors that BiomedCLIP's built-in config requires/, { config: undefined });
});

test('hostile and unreadable inputs leave no partial output', async () => {
  await refusedCleanly('hostile_os_system.pt', /global posix\.system/);
  await refusedCleanly('hostile_corrupt.pt', /CRC-32/);
  await refusedCleanly('tiny_legacy.pt', /re-save it with torch >= 1\.6/);
  await refusedCleanly('absent.pt', /cannot open checkpoint \(ENOENT\)/);
  await refusedCleanly(fx, /not a regular checkpoint/);
  await refusedCleanly('tiny.pt', /--vocab .*: 1025 tokens for a 1024-row embedding/, { vocab: path.join(work, 'long-vocab.txt') });
});

test('NaN/Inf weights are refused unless --allow-nonfinite; values beyond float16 are refused with --dtype f16', async () => {
  await refusedCleanly('tiny_nan.pt', /tensor "visual\.trunk\.patch_embed\.proj\.weight" has 1 non-finite value \(first: NaN at index 5\).*--allow-nonfinite/);
  await refusedCleanly('tiny_inf_scale.pt', /tensor "logit_scale" has 1 non-finite value \(first: Infinity/);
  await refusedCleanly('tiny_beyond_f16.pt', /"visual\.head\.proj\.weight" holds 100000 .*beyond float16's range.*--dtype f32/, { dtype: 'f16' });
  const allowed = run('tiny_nan.pt', { allowNonfinite: true });
  const report = await allowed.promise;
  assert.ok(
    allowed.notes.some((n) => /copied 1 non-finite value .*patch_embed/.test(n)),
    allowed.notes.join(' | '),
  );
  const st = await SafetensorsFile.open(report.outFile);
  assert.ok(Number.isNaN((await st.readFloat32('visual.trunk.patch_embed.proj.weight'))[5]));
  await st.close();
});

test('a config whose sizes ask for an absurd tensor is refused before any allocation', async () => {
  await refusedCleanly('tiny_huge_vocab.pt', /word_embeddings\.weight" would hold 32,000,000,000 values .*beyond the limit.*check the config's sizes/, {
    config: path.join(fx, 'huge_vocab_config.json'),
  });
});

test('the convert command: flags, JSON report, usage errors', async () => {
  const outDir = path.join(work, 'cli');
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    const code = await command.run([
      path.join(fx, 'tiny.pt'),
      '--out',
      outDir,
      '--config',
      path.join(fx, 'open_clip_config.json'),
      '--vocab',
      path.join(fx, 'vocab.txt'),
      '--dtype',
      'f16',
      '--json',
    ]);
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  const report = JSON.parse(lines.join('\n')) as { tensors: number; outFile: string };
  assert.equal(report.tensors, 71);
  assert.equal((await SafetensorsFile.open(report.outFile)).tensors.get('logit_scale')!.dtype, 'F16');
  await assert.rejects(command.run(['--out', outDir]), (e: unknown) => e instanceof UserError && e.exitCode === 2);
  await assert.rejects(command.run([path.join(fx, 'tiny.pt')]), /--out DIR is required/);
  await assert.rejects(command.run([path.join(fx, 'tiny.pt'), '--out', outDir, '--dtype', 'f8']), /--dtype f8/);
  await assert.rejects(command.run([path.join(fx, 'tiny.pt'), '--out', outDir, '--bogus']), /unknown option '--bogus'/);
  assert.match(command.usage, /Examples:/);
});
