/**
 * The parity check the tiny and full-size tests share: run our model on a golden file's own inputs with
 * every hook captured, compare every tensor with `compareTraces` (the routine `biomedclip parity` uses),
 * print the worst difference of each kind, and assert that nothing failed, that both sides hold the same
 * hooks, and that the forward pass leaked no tensor.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { disposeResult, forward, traceOfResult } from '../../src/api/forward.js';
import type { BiomedCLIPModel } from '../../src/model/clip.js';
import { compareTraces, formatDiffTable, pointKinds, type HookDiff } from '../../src/parity/compare.js';
import { traceOfFile } from '../../src/parity/run.js';
import type { SafetensorsFile } from '../../src/weights/index.js';

export async function checkAgainstGolden(model: BiomedCLIPModel, golden: SafetensorsFile, label: string): Promise<HookDiff[]> {
  const before = tf.memory().numTensors;
  const px = golden.tensors.get('inputs.pixel_values')!.shape as [number, number, number, number];
  const ids = golden.tensors.get('inputs.input_ids')!.shape as [number, number];
  const pixelValues = tf.tensor4d(await golden.readFloat32('inputs.pixel_values'), px);
  const inputIds = tf.tensor2d(await golden.readInt32('inputs.input_ids'), ids, 'int32');
  const result = forward(model, { pixelValues, inputIds }, { capture: ['*'] });
  // outputs.logit_scale is the raw weight, stored for the record; every other golden tensor is compared.
  const names = [...golden.tensors.keys()].filter((n) => !n.startsWith('inputs.') && n !== 'outputs.logit_scale');
  const { rows, oursOnly } = await compareTraces(traceOfResult(result), traceOfFile(golden), { kinds: pointKinds(model.points), names });
  disposeResult(result);
  tf.dispose([pixelValues, inputIds]);
  const worst = (kind: string) => rows.filter((r) => r.kind === kind).reduce((a, b) => (b.maxAbs > a.maxAbs ? b : a));
  const kinds = [...new Set(rows.filter((r) => !r.name.startsWith('outputs.')).map((r) => r.kind))];
  console.log(
    `${label}: ${rows.length} tensors compared; worst of each kind, then the outputs:\n${formatDiffTable([...kinds.map(worst), ...rows.filter((r) => r.name.startsWith('outputs.'))])}`,
  );
  const failed = rows.filter((r) => !r.pass).map((r) => `${r.name}${r.problem ? ` (${r.problem})` : ''}`);
  assert.deepEqual(failed, [], `over tolerance or missing: ${failed.join(', ')}`);
  assert.deepEqual(oursOnly, [], 'hooks we publish that the reference lacks');
  assert.equal(rows.length, names.length, 'every reference tensor was compared');
  assert.equal(tf.memory().numTensors, before, 'the forward pass leaked tensors');
  return rows;
}
