/**
 * Ctrl-C during `index` and `eval` (issue 19): a `biomedclip` child process gets SIGINT after its first
 * committed batch. It must say how many images are committed and that the same command resumes, exit 130
 * as shells expect, and leave nothing that blocks the rerun (its lock names a dead process, which the next
 * run takes over); the rerun then ends with the same rows as a run that was never interrupted: one per image.
 * The children run on wasm (the default backend without a GPU), which embeds a batch in a fifth of cpu's
 * time; the signal, sent as soon as the first batch is committed, still lands with most of them to go.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { mulberry32 } from '../src/util/random.js';
import { cli, REPO_ROOT, tempDemoModel } from './helpers.js';
import { committedRows, indexRows } from './index-rows.js';

const { dir, model } = tempDemoModel('biomedclip-interrupt-');
const N = 16; // 8 batches of 2: enough for the signal to land mid-run, few enough for the unit tier
let images = '';
const MODEL = ['--model', model, '--backend', 'wasm', '--workers', '1', '--batch-size', '2'];
/** The images' paths relative to the folder, as a complete index's manifest lists them. */
const ALL: string[] = [];

before(() => {
  images = path.join(dir, 'images');
  for (const cls of ['normal', 'tumor']) mkdirSync(path.join(images, cls), { recursive: true });
  for (let i = 0; i < N; i++) {
    const next = mulberry32(i);
    const img = new PNG({ width: 16, height: 16 });
    for (let p = 0; p < img.data.length; p++) img.data[p] = p % 4 === 3 ? 255 : Math.floor(255 * next());
    const file = `${i % 2 ? 'tumor' : 'normal'}/img${String(i).padStart(3, '0')}.png`; // manifests use '/'
    writeFileSync(path.join(images, file), PNG.sync.write(img));
    ALL.push(file);
  }
});

/** Runs `biomedclip ARGS`, sends SIGINT once the store `index` has a committed row; its exit code and stderr. */
async function interrupted(args: string[], index: string): Promise<{ code: number | null; stderr: string; atExit: number }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  while ((await committedRows(index)) === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGINT');
  const code = await exited;
  return { code, stderr, atExit: await committedRows(index) };
}

test('Ctrl-C during index: says what is committed, exits 130, and the rerun completes', async () => {
  const index = path.join(dir, 'idx');
  const r = await interrupted(['index', images, '--out', index, ...MODEL], index);
  console.log(r.stderr.trim());
  assert.equal(r.code, 130, r.stderr);
  assert.ok(r.atExit >= 1 && r.atExit < N, `the signal must land mid-run (committed ${r.atExit})`);
  const line = r.stderr.split('\n').filter((l) => l.startsWith('biomedclip: interrupted'));
  assert.deepEqual(line, [`biomedclip: interrupted: ${r.atExit}/${N} images committed to ${index}; run the same command to resume`]);

  const again = cli('index', images, '--out', index, ...MODEL, '--json');
  assert.equal(again.status, 0, again.stderr);
  const json = JSON.parse(again.stdout);
  assert.equal(json.alreadyIndexed, r.atExit);
  assert.equal(json.count, N);
  // A run never interrupted lists every image once: the resumed table must hold exactly that list.
  const paths = (await indexRows(index, 64)).map((r) => r.path).sort();
  assert.deepEqual(paths, [...ALL].sort());
});

test('Ctrl-C during eval: says what is committed to the cache, exits 130, and the rerun resumes', async () => {
  const cache = path.join(dir, 'cache');
  const args = ['eval', 'classify', images, '--classes-from-folders', '--bootstrap', '0', '--cache', cache, ...MODEL];
  const r = await interrupted(args, path.join(cache, 'images'));
  console.log(r.stderr.trim());
  assert.equal(r.code, 130, r.stderr);
  assert.ok(r.atExit >= 1 && r.atExit < N, `the signal must land mid-run (committed ${r.atExit})`);
  assert.match(
    r.stderr,
    new RegExp(`biomedclip: interrupted: ${r.atExit}/${N} images of this run committed to the cache ${cache}; run the same command to resume\n`),
  );
  const again = cli(...args, '--json');
  assert.equal(again.status, 0, again.stderr);
  const json = JSON.parse(again.stdout);
  assert.equal(json.n, N);
  assert.equal(json.cache.images_cached, r.atExit);
});
