/**
 * `biomedclip parity` on the committed tiny fixture: the untouched PyTorch golden file passes; a copy with
 * one hook perturbed fails with exit 1 and names that hook as the first divergence; hooks we do not produce,
 * or of another shape, are named failures. The first run is a subprocess of bin/biomedclip.js, as a user
 * runs it; the others run the CLI's main() in this process (the same code, exit codes and output, without a
 * CPU-second of start-up each).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { forwardOrder } from '../src/parity/compare.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../src/weights/index.js';
import { cliInProcess, FIXTURES, REPO_ROOT } from './helpers.js';

const TINY = path.join(FIXTURES, 'tiny');
const GOLDEN = path.join(TINY, 'golden.safetensors');
/** A hook in the middle of the vision tower: everything before it must still pass. */
const PERTURBED = 'visual.trunk.blocks.1.mlp.fc1';
const PERTURBATION = 1e-2; // 100× the activation tolerance (1e-4)
let dir = '';

const OPTIONS = ['--model', TINY, '--backend', 'cpu', '--quiet'];

/** `biomedclip parity ARGS` as a child process. */
function parityProcess(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'parity', ...OPTIONS, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `biomedclip parity ARGS` in this process: its exit code, stdout and stderr. */
async function parity(...args: string[]) {
  const r = await cliInProcess('parity', ...OPTIONS, ...args);
  return { code: r.code, stdout: r.out, stderr: r.stderr.map((l) => `${l}\n`).join('') };
}

type Edit = (t: TensorToWrite) => TensorToWrite | null;

/** Copies the golden file with each tensor passed through `edit` (null drops it). */
async function tamperedCopy(name: string, edit: Edit): Promise<string> {
  const src = await SafetensorsFile.open(GOLDEN);
  const tensors: TensorToWrite[] = [];
  for (const [n, info] of src.tensors) {
    const t = edit({ name: n, dtype: info.dtype, shape: info.shape, data: new Uint8Array(await src.readRaw(n)) });
    if (t) tensors.push(t);
  }
  await src.close();
  const out = path.join(dir, name);
  await writeSafetensors(out, tensors, src.metadata);
  return out;
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'biomedclip-parity-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the untouched PyTorch golden file passes: exit 0, every tensor compared', async () => {
  const r = parityProcess('--reference', GOLDEN, '--json');
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.pass, true);
  assert.equal(report.failed, 0);
  assert.equal(report.firstFailure, null);
  // 47 hooks + 4 outputs: everything in the file except its 2 inputs.
  assert.equal(report.compared, 77);
  const worst = Math.max(...report.rows.map((x: { maxAbs: number }) => x.maxAbs));
  console.log(
    `tiny golden: worst max|diff| ${worst.toExponential(2)} over ${report.compared} tensors (atol 1e-5 probs, 1e-4 scores and activations, 1e-3 logits)`,
  );
  const table = await parity('--reference', GOLDEN);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /parity: PASS, all 77 tensors within tolerance/);
});

test('one perturbed hook: exit 1, and that hook is named as the first divergence', async () => {
  const file = await tamperedCopy('perturbed.safetensors', (t) => {
    if (t.name !== PERTURBED) return t;
    const data = new Float32Array((t.data as Uint8Array).slice().buffer);
    data[7] += PERTURBATION;
    return { ...t, data };
  });
  const r = await parity('--reference', file);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, new RegExp(`FIRST DIVERGENCE: ${PERTURBED.replace(/\./g, '\\.')} \\(max \\|diff\\| 1\\.00e-2`));
  assert.match(r.stdout, /parity: FAIL, 1 of 77/);
  const report = JSON.parse((await parity('--reference', file, '--json')).stdout);
  assert.equal(report.firstFailure.name, PERTURBED);
  const failing = report.rows.filter((x: { pass: boolean }) => !x.pass).map((x: { name: string }) => x.name);
  assert.deepEqual(failing, [PERTURBED]);
  // --capture narrows the comparison: the vision hook is out of scope, so the text side passes.
  assert.equal((await parity('--reference', file, '--capture', 'text.*')).code, 0);
  // A looser bar passes it: 1e-4 × 1000 = 0.1 > 0.01.
  assert.equal((await parity('--reference', file, '--tolerance-scale', '1000')).code, 0);
});

test('a reference hook we do not produce, or of another shape, is a named failure, never skipped', async () => {
  const file = await tamperedCopy('renamed.safetensors', (t) => {
    if (t.name === 'text.proj.1') return { ...t, name: 'text.proj.1.extra' };
    if (t.name === 'visual.trunk.norm') return { ...t, shape: [t.shape[0] * t.shape[1], t.shape[2]] };
    return t;
  });
  const r = await parity('--reference', file, '--json');
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  const problems = Object.fromEntries(
    report.rows.filter((x: { problem: string | null }) => x.problem).map((x: { name: string; problem: string }) => [x.name, x.problem]),
  );
  assert.deepEqual(Object.keys(problems), ['visual.trunk.norm', 'text.proj.1.extra']);
  assert.match(problems['visual.trunk.norm'], /shape/);
  assert.match(problems['text.proj.1.extra'], /not produced/);
  assert.equal(report.firstFailure.name, 'visual.trunk.norm');
  assert.ok(report.oursOnly.includes('text.proj.1'), 'our hook missing from the reference is listed');
  const table = await parity('--reference', file);
  assert.match(table.stdout, /text\.proj\.1\.extra .*FAIL \(not produced by our model\)/);
});

test('user errors: one line on stderr and the documented exit codes', async () => {
  const noRef = await parity();
  assert.equal(noRef.code, 2);
  assert.match(noRef.stderr, /^biomedclip: error: missing --reference/);
  assert.equal((await parity('--reference', GOLDEN, '--tolerance-scale', '-1')).code, 2);
  assert.equal((await parity('--reference', GOLDEN, '--bogus')).code, 2);
  const inputsless = await tamperedCopy('no-inputs.safetensors', (t) => (t.name.startsWith('inputs.') ? null : t));
  const r = await parity('--reference', inputsless);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^biomedclip: error: .*neither inputs\.pixel_values nor inputs\.input_ids/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const missing = await parity('--reference', path.join(dir, 'nope.safetensors'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^biomedclip: error: /);
});

test('forwardOrder keeps reference-only names where the reference has them', () => {
  assert.deepEqual(forwardOrder(['a', 'b', 'c', 'outputs.x'], ['outputs.x', 'a', 'z', 'c', 'b']), ['a', 'z', 'b', 'c', 'outputs.x']);
});

test('a --capture pattern that matches no hook is a usage error naming the closest hooks', async () => {
  const r = await parity('--reference', GOLDEN, '--capture', 'visual.trunk.block.*.attn.probs');
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^biomedclip: error: capture pattern 'visual\.trunk\.block\.\*\.attn\.probs' matches no hook point; closest: visual\.trunk\.blocks\.\*\.attn\.probs/,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
