/**
 * Per-component and per-tower parity on the committed tiny fixture: every hook tensor, the features and
 * the logits against the independent PyTorch reference (scripts/reference), on the cpu, wasm and webgpu
 * backends (webgpu on Mesa's llvmpipe where there is no GPU; BIOMEDCLIP_TEST_BACKENDS picks others).
 */
// test tier: full (PyTorch reference fixtures: /usr/bin/python3 with torch)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { useBackend } from '../src/backends/select.js';
import { loadModel } from '../src/model/load.js';
import { SafetensorsFile } from '../src/weights/index.js';
import { FIXTURES, testBackends } from './helpers.js';
import { checkAgainstGolden } from './support/golden-parity.js';

const TINY = path.join(FIXTURES, 'tiny');

for (const backend of testBackends(['cpu', 'wasm', 'webgpu'])) {
  test(`tiny model matches the PyTorch reference on ${backend} (every hook, features, logits)`, async () => {
    await useBackend(backend);
    const golden = await SafetensorsFile.open(path.join(TINY, 'golden.safetensors'));
    const model = await loadModel(TINY);
    const rows = await checkAgainstGolden(model, golden, backend);
    assert.ok(rows.length >= 76, `compared ${rows.length} tensors`);
    model.dispose();
    await golden.close();
  });
}
