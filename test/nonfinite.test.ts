/**
 * Non-finite numbers never pass silently (issue 10, item 1). Model variants are the demo model with one
 * tensor changed: a NaN weight, an infinite logit_scale, a logit_scale whose exp overflows float32, and
 * finite weights so large that the forward pass overflows. Loading names the tensor and the count; a
 * forward pass that overflows fails naming the input; no command prints, indexes or traces such a value.
 * The commands run through the CLI's main() in this process (the same code, exit codes and messages as
 * `biomedclip`, without a CPU-second of start-up each); one runs as a child process, as a user would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { UserError } from '../src/errors.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../src/weights/index.js';
import { cli as childCli, cliInProcess, EXAMPLE_IMAGES, oneErrorLine, tempDemoModel } from './helpers.js';
import { committedRows } from './index-rows.js';

const { dir, model: demo } = tempDemoModel('biomedclip-nonfinite-');

/** A copy of the demo model with `edit` applied to one tensor's values. */
async function variant(name: string, key: string, edit: (values: Float32Array) => void): Promise<string> {
  const out = path.join(dir, name);
  mkdirSync(out);
  for (const f of ['open_clip_config.json', 'vocab.txt']) copyFileSync(path.join(demo, f), path.join(out, f));
  const src = await SafetensorsFile.open(path.join(demo, 'model.safetensors'));
  const tensors: TensorToWrite[] = [];
  for (const [k, info] of src.tensors) {
    const data = await src.readFloat32(k);
    if (k === key) edit(data);
    tensors.push({ name: k, dtype: 'F32', shape: info.shape, data });
  }
  await src.close();
  await writeSafetensors(path.join(out, 'model.safetensors'), tensors, src.metadata);
  return out;
}

const cli = (...args: string[]) => cliInProcess(...args, '--backend', 'cpu');
const failsWithOneLine = (r: Parameters<typeof oneErrorLine>[0], pattern: RegExp) => oneErrorLine(r, 1, pattern);

test('a NaN weight: loading names the tensor and the count; embed, classify and index refuse', async () => {
  const model = await variant('nan', 'visual.trunk.patch_embed.proj.weight', (v) => {
    v[7] = NaN;
    v[9] = Infinity;
  });
  await assert.rejects(BiomedCLIP.load(model, { backend: 'cpu' }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /tensor 'visual\.trunk\.patch_embed\.proj\.weight' has 2 non-finite values \(first: NaN at index 7\)/);
    return true;
  });
  const numTensors = tf.memory().numTensors;
  await assert.rejects(BiomedCLIP.load(model, { backend: 'cpu' }));
  assert.equal(tf.memory().numTensors, numTensors, 'a refused load frees what it had loaded');
  failsWithOneLine(
    childCli('embed', '--model', model, '--image', EXAMPLE_IMAGES.squamous, '--json', '--backend', 'cpu'),
    /patch_embed\.proj\.weight' has 2 non-finite values/,
  );
  failsWithOneLine(await cli('classify', EXAMPLE_IMAGES.squamous, '--model', model, '--labels', 'a,b'), /non-finite/);
  const images = path.join(dir, 'images-nan');
  mkdirSync(images);
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'a.jpeg'));
  failsWithOneLine(await cli('index', images, '--out', path.join(dir, 'index-nan'), '--model', model), /non-finite/);
});

test('an infinite logit_scale is refused at load; one whose exp overflows float32 is refused before any score', async () => {
  const inf = await variant('inf-scale', 'logit_scale', (v) => v.fill(Infinity));
  failsWithOneLine(
    await cli('classify', EXAMPLE_IMAGES.squamous, '--model', inf, '--labels', 'a,b', '--json'),
    /tensor 'logit_scale' has 1 non-finite value \(first: Infinity/,
  );
  const huge = await variant('huge-scale', 'logit_scale', (v) => v.fill(100)); // exp(100) > float32 max
  failsWithOneLine(
    await cli('classify', EXAMPLE_IMAGES.squamous, '--model', huge, '--labels', 'a,b', '--json'),
    /exp\(logit_scale\) = .* is not a finite float32 temperature/,
  );
  const clip = await BiomedCLIP.load(huge, { backend: 'cpu' });
  try {
    await assert.rejects(clip.classify([EXAMPLE_IMAGES.squamous], ['a', 'b']), /logit_scale/);
    await assert.rejects(clip.similarity([EXAMPLE_IMAGES.squamous], ['a']), /logit_scale/);
  } finally {
    clip.dispose();
  }
});

test('finite weights that overflow in the forward pass: the error names the input; texts still embed', async () => {
  const model = await variant('overflow', 'visual.trunk.patch_embed.proj.weight', (v) => v.fill(3e38));
  const clip = await BiomedCLIP.load(model, { backend: 'cpu' });
  try {
    const before = tf.memory().numTensors;
    await assert.rejects(clip.encodeImages([EXAMPLE_IMAGES.squamous, EXAMPLE_IMAGES.adenocarcinoma]), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.ok(err.message.startsWith(`${EXAMPLE_IMAGES.squamous}: the forward pass gave`), err.message);
      assert.match(err.message, /non-finite values/);
      return true;
    });
    assert.equal(tf.memory().numTensors, before, 'the refused batch leaks no tensor');
    const [text] = await clip.encodeTexts(['adenocarcinoma']);
    assert.ok(text.embedding.every(Number.isFinite));
  } finally {
    clip.dispose();
  }
  failsWithOneLine(
    await cli('embed', '--model', model, '--image', EXAMPLE_IMAGES.adenocarcinoma, '--json'),
    new RegExp(`${EXAMPLE_IMAGES.adenocarcinoma.replace(/[.]/g, '\\.')}: the forward pass gave`),
  );
  const images = path.join(dir, 'images-overflow');
  mkdirSync(images);
  copyFileSync(EXAMPLE_IMAGES.squamous, path.join(images, 'a.jpeg'));
  const out = path.join(dir, 'index-overflow');
  failsWithOneLine(await cli('index', images, '--out', out, '--model', model), /a\.jpeg: the forward pass gave/);
  assert.equal(await committedRows(out), 0, 'no row was written');
  // trace names the first activation that went non-finite, and writes nothing unless asked.
  const traceOut = path.join(dir, 'overflow.safetensors');
  failsWithOneLine(
    await cli('trace', '--model', model, '--image', EXAMPLE_IMAGES.squamous, '--out', traceOut),
    /'visual\.trunk\.patch_embed' is the first captured tensor with .* non-finite values.*--allow-nonfinite/,
  );
  assert.equal(existsSync(traceOut), false);
  const allowed = await cli('trace', '--model', model, '--image', EXAMPLE_IMAGES.squamous, '--out', traceOut, '--allow-nonfinite');
  assert.equal(allowed.code, 0, allowed.stderr.join('\n'));
  assert.ok(existsSync(traceOut));
});
