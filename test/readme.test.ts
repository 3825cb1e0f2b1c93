/**
 * The README's quick start works as written on a fresh clone: its first command (after `npm ci &&`, which
 * the test run has already done) classifies the example image shipped in assets/examples/ with the demo
 * model, and reads nothing outside the repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './helpers.js';

test('README quick-start command classifies the example image', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```sh\n(npm ci && .*)\n```/.exec(readme);
  assert.ok(block, 'README has a quick-start block starting with `npm ci &&`');
  const command = block[1].replace(/^npm ci && /, '');
  for (const arg of command.split(' ').filter((a) => /\.(jpe?g|png)$/i.test(a))) {
    assert.ok(!path.isAbsolute(arg) && !arg.startsWith('..'), `${arg}: the README's example image must ship in the repository`);
    assert.ok(existsSync(path.join(REPO_ROOT, arg)), `${arg}: missing from the repository`);
  }
  const out = execSync(`${command} --json`, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [result] = JSON.parse(out);
  assert.equal(result.scores.length, 3);
  assert.match(result.model, /random weights/);
  const total = result.scores.reduce((s: number, x: { probability: number }) => s + x.probability, 0);
  assert.ok(Math.abs(total - 1) < 1e-6);
});

test('README library example runs as written, on the demo model it loads', () => {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has a ts example');
  assert.match(block[1], /BiomedCLIP\.load\('demo'/, 'the example runs offline as written');
  const tmp = mkdtempSync(path.join(REPO_ROOT, 'dist', '.readme-'));
  try {
    // The example's own code, unchanged; only a line printing its results is added.
    const code = block[1].concat(
      '\nconsole.log(JSON.stringify({ label: scores[0].label, dim: img.embedding.length, shape: probs.shape, map: explanations[0].imageMap.length, methods: explanations.map((e) => e.method) }));\n',
    );
    // Inside the package, so `import ... from 'biomedclip-ts'` resolves to this checkout (self-reference);
    // run from the repository root, where the example's relative image path points.
    const file = path.join(tmp, 'example.mjs');
    writeFileSync(file, code);
    const out = JSON.parse(execSync(`node ${file}`, { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n').pop()!);
    assert.deepEqual(out.shape, [1, 2, 197, 197], 'the last block of the demo model');
    assert.equal(out.dim, 64);
    assert.equal(out.map, 196);
    assert.deepEqual(out.methods, ['relevance', 'gradcam']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('--help examples use the images shipped in assets/examples/, and the classify example runs', async () => {
  const commands = ['embed', 'classify', 'preprocess', 'index', 'search', 'trace', 'explain', 'ablate', 'lens', 'sanity', 'view'];
  for (const name of commands) {
    const { command } = await import(`../src/cli/commands/${name}.js`);
    const examples = (command.usage as string).split('Examples:')[1] ?? '';
    const shipped = [...examples.matchAll(/assets\/examples(?:\/[\w.]+)?/g)].map((m) => m[0]);
    assert.ok(shipped.length > 0, `${name} --help: no example uses a shipped image`);
    for (const file of shipped) assert.ok(existsSync(path.join(REPO_ROOT, file)), `${name} --help: ${file} is missing`);
  }
  const { command } = await import('../src/cli/commands/classify.js');
  const example = command.usage
    .split('Examples:')[1]
    .split('\n')
    .slice(1, 3)
    .join(' ')
    .replace(/\\\s+/g, '')
    .replace(/^\s*biomedclip /, '');
  const out = execSync(`node bin/biomedclip.js ${example} --backend cpu`, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(JSON.parse(out)[0].scores.length, 3);
});
