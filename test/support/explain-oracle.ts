/**
 * The explanation methods' PyTorch oracle, for the tests: run scripts/reference/explain_reference.py on a
 * model directory (torch autograd on the independent reference model), read its maps, build the same
 * image-text pair for the TS side, and compare with the issue's tolerance:
 *   |ours − torch| ≤ 1e-3 · |torch| + 1e-5 · max|torch map|   for every value.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { PairInputs } from '../../src/inspect/probe.js';
import type { HostTensor } from '../../src/host-tensor.js';
import { SafetensorsFile } from '../../src/weights/index.js';
import { REPO_ROOT, TORCH_PYTHON } from '../helpers.js';

/** Runs the oracle; returns every tensor it wrote (maps, logit, the text's ids). */
export async function runOracle(modelDir: string, args: string[]): Promise<Map<string, HostTensor>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'explain-oracle-'));
  try {
    const out = path.join(dir, 'maps.safetensors');
    const script = path.join(REPO_ROOT, 'scripts', 'reference', 'explain_reference.py');
    execFileSync(TORCH_PYTHON, [script, '--model', modelDir, ...args, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
    const f = await SafetensorsFile.open(out);
    const maps = new Map<string, HostTensor>();
    for (const [name, info] of f.tensors) {
      const data = info.dtype === 'I64' ? Float32Array.from(await f.readInt32(name)) : await f.readFloat32(name);
      maps.set(name, { shape: info.shape, data });
    }
    await f.close();
    return maps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Image `image` of golden.safetensors and the oracle's text ids (its [PAD]s dropped), as a batch-1 pair. */
export async function goldenPair(modelDir: string, image: number, oracle: Map<string, HostTensor>): Promise<PairInputs> {
  const f = await SafetensorsFile.open(path.join(modelDir, 'golden.safetensors'));
  const [, c, h, w] = f.tensors.get('inputs.pixel_values')!.shape;
  const all = await f.readFloat32('inputs.pixel_values');
  await f.close();
  const ids = oracle.get('inputs.input_ids')!;
  return {
    pixels: tf.tensor4d(all.slice(image * c * h * w, (image + 1) * c * h * w), [1, c, h, w]),
    ids: tf.tensor2d(Int32Array.from(ids.data), [1, ids.data.length], 'int32'),
  };
}

export interface MapCheck {
  name: string;
  maxAbs: number;
  /** max over values of |diff| / (1e-3 |ref| + 1e-5 max|ref|): ≤ 1 passes. */
  worstRatio: number;
}

/** Compares one map; returns the figures (the caller prints a table and asserts). */
export function checkMap(name: string, ours: ArrayLike<number>, ref: HostTensor | undefined): MapCheck {
  assert.ok(ref, `the oracle wrote no '${name}'`);
  assert.equal(ours.length, ref.data.length, `${name}: ${ours.length} values, oracle ${ref.data.length}`);
  const peak = Math.max(...Array.from(ref.data, Math.abs));
  let maxAbs = 0;
  let worstRatio = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(ours[i] - ref.data[i]);
    maxAbs = Math.max(maxAbs, d);
    worstRatio = Math.max(worstRatio, d / (1e-3 * Math.abs(ref.data[i]) + 1e-5 * peak));
    assert.ok(Number.isFinite(ours[i]), `${name}[${i}] is ${ours[i]}`);
  }
  return { name, maxAbs, worstRatio };
}

/** Prints the comparisons and fails on any value over tolerance. */
export function assertChecks(label: string, checks: MapCheck[]): void {
  const width = Math.max(...checks.map((c) => c.name.length));
  console.log(`${label} (tolerance: |diff| <= 1e-3 |torch| + 1e-5 max|torch|, i.e. ratio <= 1):`);
  for (const c of checks) console.log(`  ${c.name.padEnd(width)}  max|diff| ${c.maxAbs.toExponential(2)}  worst ratio ${c.worstRatio.toFixed(3)}`);
  const failed = checks.filter((c) => !(c.worstRatio <= 1)).map((c) => c.name);
  assert.deepEqual(failed, [], `over tolerance: ${failed.join(', ')}`);
}
