/**
 * Array jobs on one index (issue 23): three `biomedclip index --shard K/3` processes run at the same time
 * on one folder, as a Slurm array would start them (one takes K/N from SLURM_ARRAY_TASK_ID and
 * SLURM_ARRAY_TASK_COUNT); together they must store exactly the rows and embeddings (1e-6) one process
 * stores. A shard killed (SIGKILL) after its first commit and run again completes the index with nothing
 * stored twice, and index.json says complete only once every shard has finished.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { shardOf } from '../src/retrieval/shard.js';
import { mulberry32 } from '../src/util/random.js';
import { cliInProcess, REPO_ROOT, tempDemoModel } from './helpers.js';
import { committedRows, indexRows, type StoredRow } from './index-rows.js';

const { dir, model } = tempDemoModel('biomedclip-shard-cli-');
const E = 64; // the demo model's embedding width
const N_IMAGES = 24;
const TOLERANCE = 1e-6;
let images = '';
const MODEL = ['--model', model, '--backend', 'wasm', '--workers', '1', '--batch-size', '2', '--quiet'];

before(() => {
  images = path.join(dir, 'images');
  for (const cls of ['a', 'b', 'c']) mkdirSync(path.join(images, cls), { recursive: true });
  for (let i = 0; i < N_IMAGES; i++) {
    const next = mulberry32(100 + i);
    const img = new PNG({ width: 16, height: 16 });
    for (let p = 0; p < img.data.length; p++) img.data[p] = p % 4 === 3 ? 255 : Math.floor(255 * next());
    writeFileSync(path.join(images, 'abc'[i % 3], `img${String(i).padStart(3, '0')}.png`), PNG.sync.write(img));
  }
});

interface Child {
  code: Promise<number | null>;
  kill: () => void;
  stderr: () => string;
}

/** `biomedclip index IMAGES --out INDEX ...args` in a child process, with extra environment variables. */
function indexChild(index: string, args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'index', images, '--out', index, ...MODEL, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return { code: new Promise((resolve) => child.on('exit', (c) => resolve(c))), kill: () => child.kill('SIGKILL'), stderr: () => stderr };
}

/** The largest |difference| between the embeddings of two indexes holding the same paths. */
function maxDiff(a: StoredRow[], b: StoredRow[]): number {
  assert.deepEqual(
    a.map((r) => r.path),
    b.map((r) => r.path),
    'the same files',
  );
  let max = 0;
  a.forEach((r, i) => r.embedding.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i].embedding[j])))));
  return max;
}

const info = (index: string) => JSON.parse(readFileSync(path.join(index, 'index.json'), 'utf8'));

let whole: StoredRow[] = [];

test('three shards at once store what one process stores', async () => {
  const one = path.join(dir, 'one.index');
  const r = await cliInProcess('index', images, '--out', one, ...MODEL);
  assert.equal(r.code, 0, r.stderr.join('\n'));
  whole = await indexRows(one, E);
  assert.equal(whole.length, N_IMAGES);

  const sharded = path.join(dir, 'sharded.index');
  const children = [
    indexChild(sharded, ['--shard', '0/3']),
    indexChild(sharded, [], { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '0' }),
    indexChild(sharded, ['--shard', '2/3']),
  ];
  const codes = await Promise.all(children.map((c) => c.code));
  assert.deepEqual(codes, [0, 0, 0], children.map((c) => c.stderr()).join('\n'));
  // LanceDB's Rust log would print WARN lines for a new table: off (lance-log.ts) unless LANCEDB_LOG asks.
  assert.deepEqual(
    children.flatMap((c) => c.stderr().split('\n')).filter((l) => /\bWARN\b/.test(l)),
    [],
  );
  const rows = await indexRows(sharded, E);
  const diff = maxDiff(rows, whole);
  console.log(`# 3 concurrent shards vs 1 process: ${rows.length} rows, max |diff| ${diff.toExponential(2)} (tolerance ${TOLERANCE})`);
  assert.ok(diff <= TOLERANCE);
  const done = info(sharded);
  assert.deepEqual([done.complete, done.count, done.shards], [true, N_IMAGES, { count: 3, done: [0, 1, 2] }]);

  // search answers from the sharded index as from the other.
  const q = path.join(images, 'b', 'img001.png');
  const search = (ix: string) => cliInProcess('search', ix, '--image', q, '--top', '3', '--json', '--backend', 'wasm', '--quiet');
  const s1 = await search(sharded); // one after the other: cliInProcess captures this process's console
  const s2 = await search(one);
  const top = (s: typeof s1) => JSON.parse(s.out).results.map((h: { path: string }) => h.path);
  assert.deepEqual(top(s1), top(s2));
  assert.equal(top(s1)[0], 'b/img001.png');
});

test('a shard killed mid-run and run again completes the index with nothing stored twice', async () => {
  const index = path.join(dir, 'killed.index');
  // Shard 0 alone first, killed as soon as it has committed a batch: the others have not started, so every row is its.
  const mine = whole.filter((r) => shardOf(r.path, 3) === 0).length;
  const victim = indexChild(index, ['--shard', '0/3']);
  while ((await committedRows(index)) === 0) await new Promise((r) => setTimeout(r, 5));
  victim.kill();
  await victim.code;
  const atKill = await committedRows(index);
  assert.ok(atKill >= 1 && atKill < mine, `killed mid-shard (${atKill} of its ${mine} rows committed)`);
  assert.equal(info(index).complete, false);
  const partial = await cliInProcess('search', index, 'a slide', '--backend', 'wasm');
  assert.equal(partial.code, 0, partial.stderr.join('\n'));
  assert.ok(
    partial.stderr.some(
      (l) => l.includes(`(${atKill} images so far); 0 of 3 shards have finished; run the others (0, 1, 2) with \``) && l.endsWith('--shard K/3`'),
    ),
    partial.stderr.join('\n'),
  );

  // The other two shards and the rerun of shard 0, all at once.
  const children = [indexChild(index, ['--shard', '1/3']), indexChild(index, ['--shard', '2/3']), indexChild(index, ['--shard', '0/3', '--json'])];
  const codes = await Promise.all(children.map((c) => c.code));
  assert.deepEqual(codes, [0, 0, 0], children.map((c) => c.stderr()).join('\n'));
  const rows = await indexRows(index, E);
  assert.equal(new Set(rows.map((r) => r.path)).size, rows.length, 'no path stored twice');
  const diff = maxDiff(rows, whole);
  console.log(`# killed shard rerun: ${rows.length} rows (${atKill} committed before the kill), max |diff| ${diff.toExponential(2)}`);
  assert.ok(diff <= TOLERANCE);
  assert.deepEqual([info(index).complete, info(index).count], [true, N_IMAGES]);
});

test('an unsharded run is refused while shards write, and shards of another N too', async () => {
  const index = path.join(dir, 'exclusive.index');
  const shard = indexChild(index, ['--shard', '0/2']);
  while ((await committedRows(index)) === 0) await new Promise((r) => setTimeout(r, 5));
  const whole = await cliInProcess('index', images, '--out', index, ...MODEL);
  const other = await cliInProcess('index', images, '--out', index, ...MODEL, '--shard', '0/4');
  shard.kill();
  await shard.code;
  assert.equal(whole.code, 1);
  assert.match(
    whole.errors.join('\n'),
    /is being written by process \d+ \(shard 0\/2\), which excludes this run; wait for it to finish, or run shards of the same N/,
  );
  assert.equal(other.code, 1);
  assert.match(other.errors.join('\n'), /\(shard 0\/2\), which excludes this run \(shard 0\/4\)/);
});

test("Ctrl-C in a shard counts that shard's images; --prune with --shard drops only that shard's gone files", async () => {
  const index = path.join(dir, 'prune.index');
  const child = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'index', images, '--out', index, ...MODEL, '--batch-size', '1', '--shard', '1/3'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  while ((await committedRows(index)) === 0) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  const mine = whole.filter((r) => shardOf(r.path, 3) === 1).length; // one image a batch (the later --batch-size wins): the signal lands mid-shard
  assert.match(
    stderr,
    new RegExp(
      `biomedclip: interrupted: ${await committedRows(index)}/${mine} images of shard 1/3 committed to .*prune\\.index; run the same command to resume`,
    ),
  );

  for (const k of ['0/3', '1/3', '2/3']) assert.equal((await cliInProcess('index', images, '--out', index, ...MODEL, '--shard', k)).code, 0);
  // One gone file of shard 0 and one of shard 2; shard 0 prunes.
  const gone = [0, 2].map((k) => whole.find((r) => shardOf(r.path, 3) === k)?.path as string);
  const moved = path.join(dir, 'moved');
  mkdirSync(moved, { recursive: true });
  gone.forEach((p, i) => renameSync(path.join(images, p), path.join(moved, `${i}.png`)));
  try {
    const r = await cliInProcess('index', images, '--out', index, ...MODEL, '--shard', '0/3', '--prune', '--json');
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.deepEqual(JSON.parse(r.out).removed, [gone[0]]);
    const left = (await indexRows(index, E)).map((row) => row.path);
    assert.deepEqual([left.includes(gone[0]), left.includes(gone[1]), left.length], [false, true, N_IMAGES - 1]);
  } finally {
    gone.forEach((p, i) => renameSync(path.join(moved, `${i}.png`), path.join(images, p)));
  }
});
