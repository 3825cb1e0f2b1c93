/**
 * The README's quick start works as written: its first command (after `npm ci &&`, which the test run has
 * already done) classifies the example image with the demo model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeDemoModel } from '../src/demo/demo-model.js';
import { SHARED_DIR } from './helpers.js';
import * as path from 'node:path';
import { REPO_ROOT } from './helpers.js';

test('README quick-start command classifies the example image', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```sh\n(npm ci && .*)\n```/.exec(readme);
  assert.ok(block, 'README has a quick-start block starting with `npm ci &&`');
  const command = block[1].replace(/^npm ci && /, '');
  const out = execSync(`${command} --json`, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [result] = JSON.parse(out);
  assert.equal(result.scores.length, 3);
  assert.match(result.model, /random weights/);
  const total = result.scores.reduce((s: number, x: { probability: number }) => s + x.probability, 0);
  assert.ok(Math.abs(total - 1) < 1e-6);
});

test('README library example runs as written (demo model and a real image substituted)', async () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a ts example');
  const tmp = mkdtempSync(path.join(REPO_ROOT, 'dist', '.readme-'));
  try {
    await writeDemoModel(path.join(tmp, 'model'));
    const image = path.join(SHARED_DIR, 'data', 'images', '02_adenocarcinoma_histopathology.jpg');
    const code = block[1]
      .replaceAll("'models/biomedclip'", JSON.stringify(path.join(tmp, 'model')))
      .replaceAll("'slide.jpg'", JSON.stringify(image))
      .concat('\nconsole.log(JSON.stringify({ label: scores[0].label, dim: img.embedding.length, shape: traced.get("visual.trunk.blocks.1.attn.probs").shape }));\n');
    // Inside the package, so `import ... from 'biomedclip-ts'` resolves to this checkout (self-reference).
    const file = path.join(tmp, 'example.mjs');
    writeFileSync(file, code);
    const out = JSON.parse(execSync(`node ${file}`, { encoding: 'utf8' }).trim().split('\n').pop()!);
    assert.deepEqual(out.shape, [1, 2, 197, 197]);
    assert.equal(out.dim, 64);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
