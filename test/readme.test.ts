/**
 * The README's quick start works as written: its first command (after `npm ci &&`, which the test run has
 * already done) classifies the example image with the demo model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
