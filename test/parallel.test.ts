/**
 * Bulk work on every core (src/parallel/): the worker pool and wasm's threaded build give the numbers of the
 * single-thread path (1e-6), in input order, with progress over all workers; a failing image stops the run
 * with its error and leaves no worker behind; Ctrl-C stops `index`, and a rerun resumes it. The default
 * pool never holds more model copies than the available memory.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { BiomedCLIP, type Embedding } from '../src/api/biomedclip.js';
import { writeDemoModel } from '../src/demo/demo-model.js';
import { defaultWorkerCount, workerBytes } from '../src/parallel/pool.js';
import { diffStats, REPO_ROOT, reportDiff } from './helpers.js';
import { committedRows, indexRows } from './index-rows.js';

const N = 24;
let tmp: string;
/** The demo model: real image size and tokenizer, toy width (fast), written by the test. */
let MODEL: string;
let images: string[];

function maxDiff(a: Embedding[], b: Embedding[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((e, i) => diffStats(e.features, b[i].features).maxAbs));
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
}

before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'biomedclip-parallel-'));
  MODEL = path.join(tmp, 'demo');
  await writeDemoModel(MODEL);
  await fs.mkdir(path.join(tmp, 'images'));
  images = [];
  for (let i = 0; i < N; i++) {
    const file = path.join(tmp, 'images', `img_${String(i).padStart(2, '0')}.png`);
    const square = await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 255, g: 255, b: 255 } } })
      .png()
      .toBuffer();
    await sharp({ create: { width: 80, height: 72, channels: 3, background: { r: (i * 29) % 256, g: (i * 71) % 256, b: (i * 13) % 256 } } })
      .composite([{ input: square, left: (i * 5) % 60, top: (i * 3) % 50 }])
      .png()
      .toFile(file);
    images.push(file);
  }
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

test('the worker pool gives the single-thread results, in input order, with progress counting every worker', async () => {
  const single = await BiomedCLIP.load(MODEL, { backend: 'wasm', workers: 1 });
  const pooled = await BiomedCLIP.load(MODEL, { backend: 'wasm', workers: 3 });
  try {
    const progress: number[] = [];
    const a = await single.encodeImages(images, { batchSize: 4 });
    const b = await pooled.encodeImages(images, { batchSize: 4, onProgress: (done) => progress.push(done) });
    const diff = maxDiff(a, b);
    reportDiff(
      `${N} images, 3 workers vs this thread`,
      diffStats(Float32Array.from(a.flatMap((e) => [...e.features])), Float32Array.from(b.flatMap((e) => [...e.features]))),
      1e-6,
    );
    assert.ok(diff <= 1e-6, `max diff ${diff}`);
    assert.deepEqual(
      [...progress].sort((x, y) => x - y),
      progress,
      'progress only moves forward',
    );
    assert.equal(progress.length, N / 4, 'one report per batch, whichever worker ran it');
    assert.equal(progress.at(-1), N);
    // Input order: the features of image i are image i's, not those of whichever batch finished first.
    const [fifth] = await single.encodeImages([images[5]]);
    assert.ok(diffStats(fifth.features, b[5].features).maxAbs <= 1e-6);

    const texts = Array.from({ length: 300 }, (_, i) => `finding number ${i}${' with more words'.repeat(i % 4)}`);
    const ta = await single.encodeTexts(texts);
    const tb = await pooled.encodeTexts(texts); // 10 batches of 32: on the pool
    const textDiff = maxDiff(ta, tb);
    console.log(`300 texts, 3 workers vs this thread: max|diff| ${textDiff.toExponential(2)} (tolerance 1e-6)`);
    assert.ok(textDiff <= 1e-6);
  } finally {
    single.dispose();
    pooled.dispose();
  }
});

test("a failing image stops a pooled run with that image's error; the process exits (no worker left)", async () => {
  const broken = path.join(tmp, 'truncated.png');
  await fs.writeFile(broken, (await fs.readFile(images[0])).subarray(0, 60));
  const list = [...images.slice(0, 10), broken, ...images.slice(10)];
  const r = cli(['embed', '--model', MODEL, '--backend', 'wasm', '--workers', '2', ...list.flatMap((f) => ['--image', f]), '--json']);
  assert.equal(r.error, undefined, 'the command finished on its own');
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '', 'no partial output');
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('biomedclip: error:'));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], /truncated\.png/);
});

test('wasm on 2 threads (the threaded build) equals 1 thread', () => {
  const run = (threads: string) => {
    const r = cli([
      'embed',
      '--model',
      MODEL,
      '--backend',
      'wasm',
      '--workers',
      '1',
      '--threads',
      threads,
      '--image',
      images[0],
      '--text',
      'tumor cells',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { images: Array<{ features: number[] }>; texts: Array<{ features: number[] }> };
  };
  const [one, two] = [run('1'), run('2')];
  for (const kind of ['images', 'texts'] as const) {
    const stats = diffStats(Float32Array.from(one[kind][0].features), Float32Array.from(two[kind][0].features));
    reportDiff(`${kind}: 2 wasm threads vs 1`, stats, 1e-6);
    assert.ok(stats.maxAbs <= 1e-6);
  }
});

test('Ctrl-C stops a pooled index promptly; the rerun resumes and indexes every image once', async () => {
  const index = path.join(tmp, 'idx');
  const args = [
    path.join(REPO_ROOT, 'bin', 'biomedclip.js'),
    'index',
    path.join(tmp, 'images'),
    '--out',
    index,
    '--model',
    MODEL,
    '--backend',
    'wasm',
    '--workers',
    '2',
    '--batch-size',
    '2',
    '--quiet',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const committed = () => committedRows(index);
  while ((await committed()) === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
  const t0 = Date.now();
  child.kill('SIGINT');
  await exited;
  console.log(`stopped ${Date.now() - t0} ms after Ctrl-C, ${await committed()} of ${N} images committed`);
  assert.ok(Date.now() - t0 < 10_000, 'stops within seconds');
  const rerun = cli(
    args
      .slice(1)
      .filter((a) => a !== '--quiet')
      .concat('--json'),
  );
  assert.equal(rerun.status, 0, rerun.stderr);
  const result = JSON.parse(rerun.stdout);
  assert.equal(result.count, N);
  assert.ok(result.alreadyIndexed >= 1, 'the rerun resumed');
  const paths = (await indexRows(index, 64)).map((r) => r.path);
  assert.equal(new Set(paths).size, N, 'every image once');
});

test('the default pool is one worker per core, but no more than the available memory holds', () => {
  const full = 4 * 195_902_721; // BiomedCLIP's float32 parameters, bytes
  assert.deepEqual(defaultWorkerCount(2, full, 24 * 2 ** 30), { workers: 2 });
  // 64 cores and 16 GB: a worker per core would take ~110 GB.
  const few = defaultWorkerCount(64, full, 16 * 2 ** 30);
  assert.equal(few.workers, Math.floor((16 * 2 ** 30) / workerBytes(full)));
  assert.ok(few.workers >= 8 && few.workers < 64, String(few.workers));
  assert.match(few.limit!, /^\d+ pool worker\(s\) instead of one per core \(64\): each takes about 1\.6 GB and 16\.0 GB is available; --workers N overrides$/);
  // Not even one fits: still one (the main thread's model is already loaded; the pool is only for speed).
  assert.equal(defaultWorkerCount(8, full, 2 ** 29).workers, 1);
});
