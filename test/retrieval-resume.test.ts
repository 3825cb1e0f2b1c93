/**
 * Indexing many images: a `biomedclip index` child process is killed (SIGKILL) after its first committed
 * batch; the rerun embeds only what was not committed, and every image ends up indexed exactly once with
 * the embedding the library computes directly. Also: progress reports, and RSS growth while indexing 200
 * images (printed; asserted loosely, since the point is "bounded", not a number).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { BiomedCLIP } from '../src/api/biomedclip.js';
import { buildIndex } from '../src/retrieval/build.js';
import { diffStats, FIXTURES, REPO_ROOT, reportDiff } from './helpers.js';
import { committedRows, indexRows } from './index-rows.js';

const N = 200;
const TINY = path.join(FIXTURES, 'tiny');
let tmp: string;
let imagesDir: string;
let clip: BiomedCLIP;

/** Starts the index command in a child process (as `biomedclip index` would run it). */
function spawnIndex(args: string[]) {
  const entry = pathToFileURL(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'commands', 'index.js')).href;
  const code = `const { command } = await import(${JSON.stringify(entry)}); process.exitCode = await command.run(${JSON.stringify(args)});`;
  return spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-resume-'));
  imagesDir = path.join(tmp, 'images');
  await fs.mkdir(imagesDir);
  // 200 small distinct PNGs: a colour per image plus a brighter square whose place depends on i.
  for (let i = 0; i < N; i++) {
    const square = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 255, g: 255, b: 255 } } })
      .png()
      .toBuffer();
    await sharp({ create: { width: 24, height: 24, channels: 3, background: { r: i % 256, g: (i * 37) % 256, b: (i * 91) % 256 } } })
      .composite([{ input: square, left: i % 16, top: (i * 7) % 16 }])
      .png()
      .toFile(path.join(imagesDir, `img_${String(i).padStart(3, '0')}.png`));
  }
  clip = await BiomedCLIP.load(TINY, { backend: 'cpu' });
});

after(async () => {
  clip?.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('killed after its first committed batch, a rerun indexes every image exactly once', async () => {
  const index = path.join(tmp, 'idx');
  const child = spawnIndex([imagesDir, '--out', index, '--model', TINY, '--backend', 'cpu', '--batch-size', '4', '--quiet']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let committed = 0;
  while (committed === 0 && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 5));
    committed = await committedRows(index);
  }
  child.kill('SIGKILL');
  await exited;
  const atKill = await committedRows(index);
  console.log(`killed with ${atKill} of ${N} images committed`);
  assert.ok(atKill >= 1 && atKill < N, `the kill must land mid-run (committed ${atKill})`);
  assert.ok(existsSync(path.join(index, '.lock')), 'a killed writer leaves its lock behind');

  const progress: number[] = [];
  const result = await buildIndex(clip, { imagesDir, outDir: index, batchSize: 16, onProgress: (done, total) => progress.push(done / total) });
  assert.equal(result.alreadyIndexed, atKill);
  assert.equal(result.added, N - atKill);
  assert.equal(result.count, N);
  assert.equal(progress.at(-1), 1);
  assert.ok(
    progress.every((p, i) => i === 0 || p > progress[i - 1]),
    'progress only moves forward',
  );

  const lines = await indexRows(index, 16);
  assert.equal(lines.length, N);
  assert.equal(new Set(lines.map((l) => l.path)).size, N, 'no image twice');

  // Rows committed before and after the kill hold the embedding of the file they name.
  const rows = [0, atKill - 1, atKill, N - 1];
  const direct = await clip.encodeImages(rows.map((r) => path.join(imagesDir, lines[r].path)));
  for (const [k, r] of rows.entries()) {
    const stats = diffStats(lines[r].embedding, direct[k].embedding);
    reportDiff(`row ${r} vs encodeImages`, stats, 1e-5);
    assert.ok(stats.maxAbs < 1e-5);
  }
  const again = await buildIndex(clip, { imagesDir, outDir: index });
  assert.equal(again.added, 0, 'a third run has nothing to do');
});

test('indexing 200 images keeps memory bounded (RSS growth printed)', async () => {
  const index = path.join(tmp, 'idx-memory');
  const start = process.memoryUsage().rss;
  let peak = start;
  await buildIndex(clip, { imagesDir, outDir: index, batchSize: 8, onProgress: () => (peak = Math.max(peak, process.memoryUsage().rss)) });
  const mb = (b: number) => (b / 2 ** 20).toFixed(1);
  console.log(`RSS before ${mb(start)} MB, peak ${mb(peak)} MB, growth ${mb(peak - start)} MB for ${N} images`);
  // One batch of 64 px pixels is ~0.4 MB; 200 MB leaves room for allocator noise and still catches
  // anything that keeps every decoded image or tensor alive.
  assert.ok(peak - start < 200 * 2 ** 20);
});
