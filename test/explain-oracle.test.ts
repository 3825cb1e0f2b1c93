/**
 * Every explanation method against torch autograd on the reference model (scripts/reference/
 * explain_reference.py), on the committed tiny fixture, on the cpu and wasm backends: the maps with the
 * issue's tolerance, and the mechanistic tables (logit lens, head ablation, activation patching) to 1e-4
 * in logit units (they are differences of logits ≈ 50, whose float32 rounding is ~4e-6 each).
 * The full-size check is in model-full.test.ts, which already has the full-size model.
 */
// test tier: full (torch autograd oracle and the full-size model: /usr/bin/python3 with torch)
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../src/backends/select.js';
import { ablateHeads } from '../src/inspect/ablate.js';
import { explain, METHODS, type ExplainOptions } from '../src/inspect/explain.js';
import { logitLens } from '../src/inspect/lens.js';
import { patchActivations } from '../src/inspect/patching.js';
import { loadModel } from '../src/model/load.js';
import type { HostTensor } from '../src/host-tensor.js';
import { FIXTURES } from './helpers.js';
import { assertChecks, checkMap, goldenPair, runOracle, type MapCheck } from './support/explain-oracle.js';

const TINY = path.join(FIXTURES, 'tiny');
let plain: Map<string, HostTensor>;
let varied: Map<string, HostTensor>;
/** Non-default options on both sides: another layer, one head, later start layers, max fusion with discard, mean pooling. */
const VARIED_ARGS = [
  '--image',
  '1',
  '--text',
  '2',
  '--layer',
  '0',
  '--head',
  '1',
  '--start-layer',
  '1',
  '--legrad-start-layer',
  '0',
  '--head-fusion',
  'max',
  '--discard-ratio',
  '0.5',
  '--pool',
  'mean',
];
const VARIED_OPTS: ExplainOptions = { layer: 0, head: 1, headFusion: 'max', discardRatio: 0.5, pool: 'mean' };

before(async () => {
  plain = await runOracle(TINY, ['--image', '0', '--text', '1', '--corrupt-image', '1', '--mechanistic']);
  varied = await runOracle(TINY, VARIED_ARGS);
});

/** Checks a table of logit differences with an absolute tolerance. */
function checkLogits(name: string, ours: number[], ref: HostTensor | undefined, scale = 1): MapCheck {
  assert.ok(ref, `the oracle wrote no '${name}'`);
  assert.equal(ours.length, ref.data.length, name);
  const maxAbs = Math.max(...ours.map((v, i) => Math.abs(v - ref.data[i]) * scale));
  return { name, maxAbs, worstRatio: maxAbs / 1e-4 };
}

for (const backend of ['cpu', 'wasm']) {
  test(`tiny model: every method, the lens, ablation and patching match torch autograd on ${backend}`, async () => {
    await useBackend(backend);
    const model = await loadModel(TINY);
    const start = tf.memory().numTensors;
    const pair = await goldenPair(TINY, 0, plain);
    const corrupt = await goldenPair(TINY, 1, plain);
    const checks: MapCheck[] = [];
    for (const e of await explain(model, pair, METHODS)) {
      checks.push(checkMap(`${e.method}.image`, e.imageMap, plain.get(`${e.method}.image`)));
      if (e.textMap) checks.push(checkMap(`${e.method}.text`, e.textMap, plain.get(`${e.method}.text`)));
      assert.ok(Math.abs(e.logit - plain.get('logit')!.data[0]) <= 1e-3, `${e.method} logit ${e.logit}`);
    }
    assert.equal(checks.length, 8, 'five image maps and three text maps');
    const text = tf.tidy(() => model.encodeText(pair.ids));
    const lens = await logitLens(model, pair.pixels, text);
    text.dispose();
    checks.push(
      checkLogits(
        'lens.cosine (x100)',
        lens.map((r) => r.cosine[0]),
        plain.get('lens.cosine'),
        100,
      ),
    );
    for (const tower of ['image', 'text'] as const) {
      for (const mode of ['zero', 'mean'] as const) {
        const table = await ablateHeads(model, pair, tower, mode);
        checks.push(checkLogits(`ablate.${tower}.${mode}`, table.delta.flat(), plain.get(`ablate.${tower}.${mode}`)));
      }
    }
    const patched = await patchActivations(model, pair, corrupt);
    const spread = Math.abs(patched.clean - patched.corrupted);
    checks.push(checkLogits('patch.image.resid (x |s_clean - s_corrupt|)', (patched.recovered as number[][]).flat(), plain.get('patch.image.resid'), spread));
    assertChecks(`tiny, ${backend}`, checks);
    tf.dispose([pair.pixels, pair.ids, corrupt.pixels, corrupt.ids]);
    assert.equal(tf.memory().numTensors, start, 'the methods leaked tensors');
    model.dispose();
  });

  test(`tiny model: non-default options (layer, head, start layers, max fusion + discard, mean pooling) match on ${backend}`, async () => {
    await useBackend(backend);
    const model = await loadModel(TINY);
    const pair = await goldenPair(TINY, 1, varied);
    const checks: MapCheck[] = [];
    const all = [
      ...(await explain(model, pair, ['attention', 'rollout', 'gradcam'], VARIED_OPTS)),
      ...(await explain(model, pair, ['relevance'], { ...VARIED_OPTS, startLayer: 1 })),
      ...(await explain(model, pair, ['legrad'], { ...VARIED_OPTS, startLayer: 0 })),
    ];
    for (const e of all) {
      checks.push(checkMap(`${e.method}.image`, e.imageMap, varied.get(`${e.method}.image`)));
      if (e.textMap) checks.push(checkMap(`${e.method}.text`, e.textMap, varied.get(`${e.method}.text`)));
    }
    assertChecks(`tiny, ${backend}, options`, checks);
    tf.dispose([pair.pixels, pair.ids]);
    model.dispose();
  });
}

test('patching per head: a head context of the last block matters only at [CLS]; a typo in the point is an error', async () => {
  await useBackend('cpu');
  const model = await loadModel(TINY);
  const [pair, corrupt] = [await goldenPair(TINY, 0, plain), await goldenPair(TINY, 1, plain)];
  const last = model.config.vision.layers - 1;
  const r = await patchActivations(model, pair, corrupt, { point: 'visual.trunk.blocks.{layer}.attn.context', layers: [last], perHead: true });
  const [row] = r.recovered as number[][][];
  assert.equal(row.length, 17, 'every token position');
  assert.ok(
    row[0].some((v) => Math.abs(v) > 1e-3),
    `[CLS] heads: ${row[0]}`,
  );
  assert.ok(
    row.slice(1).every((heads) => heads.every((v) => v === 0)),
    'other positions never reach the [CLS] output',
  );
  await assert.rejects(
    patchActivations(model, pair, corrupt, { point: 'visual.trunk.blocks.{layer}.attn.contxt' }),
    /matches no hook point; closest: visual\.trunk\.blocks\.0\.attn\.context/,
  );
  tf.dispose([pair.pixels, pair.ids, corrupt.pixels, corrupt.ids]);
  model.dispose();
});
