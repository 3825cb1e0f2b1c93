/**
 * Issue 19, items 1-2: on wasm, tfjs's Emscripten glue used to install process handlers that rethrow, so
 * any uncaught error (a closed stdout pipe in the CLI, a missing image in a library script) printed the
 * glue's whole minified source (~56 KB) and exited 7. Now a closed stdout only silences the CLI (its files
 * are still written, exit 0), and a library script's error takes Node's ordinary one-screen path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EXAMPLE_IMAGES, REPO_ROOT, tempDemoModel } from './helpers.js';

const { dir, model: demo, ready } = tempDemoModel('biomedclip-pipe-');
const BIN = path.join(REPO_ROOT, 'bin', 'biomedclip.js');

/** Runs node with `args`, its stdout a pipe whose reading end is closed before the child writes a byte. */
function runWithClosedStdout(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // like `| head -0`: every write the child makes to stdout fails with EPIPE
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

/** No minified source on stderr: a dump is one line of tens of kilobytes. */
function assertNoDump(stderr: string): void {
  const longest = Math.max(0, ...stderr.split('\n').map((l) => l.length));
  assert.ok(longest < 1000, `a ${longest}-character line on stderr (minified source?)`);
  assert.doesNotMatch(stderr, /GROWABLE_HEAP|EPIPE/);
}

for (const threads of ['1', '2']) {
  test(`wasm, ${threads} thread(s): classify into a closed pipe exits 0 quietly; explain still writes its PNG`, async () => {
    await ready();
    const labels = Array.from({ length: 50 }, (_, i) => `${i + 1}`).join(',');
    const onWasm = ['--model', demo, '--backend', 'wasm', '--threads', threads, '--quiet'];
    const c = await runWithClosedStdout([BIN, 'classify', EXAMPLE_IMAGES.squamous, ...onWasm, '--labels', labels]);
    assertNoDump(c.stderr);
    assert.equal(c.code, 0, c.stderr);
    const png = path.join(dir, `closed-pipe-${threads}.png`);
    const e = await runWithClosedStdout([BIN, 'explain', EXAMPLE_IMAGES.squamous, ...onWasm, '--text', 'a', '--out', png]);
    assertNoDump(e.stderr);
    assert.equal(e.code, 0, e.stderr);
    assert.ok(existsSync(png), 'the PNG is written although nobody reads stdout');
  });

  test(`wasm, ${threads} thread(s): an uncaught error in a library script is Node's one-screen message, exit 1`, async () => {
    await ready();
    const script = path.join(mkdtempSync(path.join(tmpdir(), 'biomedclip-lib-')), 'missing.mjs');
    const index = path.join(REPO_ROOT, 'dist', 'src', 'index.js');
    writeFileSync(
      script,
      `import { BiomedCLIP } from ${JSON.stringify(index)};\n` +
        `const clip = await BiomedCLIP.load(${JSON.stringify(demo)}, { backend: 'wasm', threads: ${threads} });\n` +
        `await clip.classify(['nope.jpg'], ['a', 'b']);\n`,
    );
    const r = await runWithClosedStdout([script]);
    assertNoDump(r.stderr);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /nope\.jpg: cannot read image file \(ENOENT\)/);
    assert.ok(r.stderr.length < 4000, `${r.stderr.length} characters on stderr`);
  });
}
