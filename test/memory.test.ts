/**
 * Peak memory of a forward pass must not grow with depth. A tf.tidy frees its intermediates only when it
 * ends, so a tidy around a whole tower holds every layer's (at full size, batch 8: past the ~2 GB the
 * wasm heap can address, which crashed the wasm backend). Each block and layer runs in its own tidy; here
 * the same toy model at 2 and at 8 layers must reach about the same peak above its weights.
 */
// test tier: full (slow: peak memory over many forward passes)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';
import { DEMO_CONFIG, writeDemoModel } from '../src/demo/demo-model.js';
import { loadModel } from '../src/model/load.js';

let dir = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'memory-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The demo architecture (width 64, 224 px, BERT vocab) at `layers` layers per tower. */
async function modelWithLayers(layers: number): Promise<string> {
  const config = structuredClone(DEMO_CONFIG);
  config.model_cfg.vision_cfg.layers = layers;
  config.model_cfg.text_cfg.hf_model_config.num_hidden_layers = layers;
  const out = path.join(dir, `layers-${layers}`);
  await writeDemoModel(out, 0, config);
  return out;
}

/** Bytes above what was allocated before the call, at the call's peak. */
async function peakAbove(run: () => tf.Tensor): Promise<number> {
  const base = tf.memory().numBytes;
  const info = await tf.profile(() => {
    const out = run();
    out.dataSync();
    out.dispose();
  });
  return info.peakBytes - base;
}

test('the peak memory of encodeImage and encodeText does not grow with the number of layers', async () => {
  await useBackend('cpu');
  const peaks: Record<string, number[]> = { image: [], text: [] };
  for (const layers of [2, 8]) {
    const m = await loadModel(await modelWithLayers(layers));
    const px = tf.randomNormal([4, 3, 224, 224], 0, 1, 'float32', 1) as tf.Tensor4D;
    const ids = tf.tensor2d(
      Array.from({ length: 4 * 256 }, (_, i) => (i % 256 === 0 ? 2 : 1000 + (i % 97))),
      [4, 256],
      'int32',
    );
    peaks.image.push(await peakAbove(() => tf.tidy(() => m.encodeImage(px))));
    peaks.text.push(await peakAbove(() => tf.tidy(() => m.encodeText(ids))));
    tf.dispose([px, ids]);
    m.dispose();
  }
  for (const [tower, [two, eight]] of Object.entries(peaks)) {
    console.log(`${tower}: peak above weights ${(two / 2 ** 20).toFixed(1)} MB at 2 layers, ${(eight / 2 ** 20).toFixed(1)} MB at 8 (bound: 1.25x)`);
    assert.ok(eight < 1.25 * two, `${tower}: ${eight} bytes at 8 layers vs ${two} at 2: intermediates are held across layers`);
  }
});
