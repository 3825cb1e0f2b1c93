/**
 * Sharding (issue 23), the parts without a model: which shard a file belongs to, where K/N comes from
 * (--shard, Slurm's array variables, a Kubernetes Indexed Job's index with --shards), how shards of one
 * index record that they finished, and which writers may hold an index's locks together.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { finishedInfo, type IndexInfo } from '../src/retrieval/index-store.js';
import { acquireWriterLock, lockHolder } from '../src/retrieval/lock.js';
import { resolveShard, shardOf, type Shard } from '../src/retrieval/shard.js';

const root = mkdtempSync(path.join(tmpdir(), 'biomedclip-shard-'));
after(() => rmSync(root, { recursive: true, force: true }));

const paths = Array.from({ length: 4000 }, (_, i) => `case-${i % 37}/slide-${String(i).padStart(5, '0')}.png`);

test('a file belongs to one shard, by its path alone: shards are disjoint, cover every file, and about equal', () => {
  const n = 8;
  const counts = new Array(n).fill(0);
  for (const p of paths) counts[shardOf(p, n)]++;
  assert.equal(
    counts.reduce((a, b) => a + b),
    paths.length,
  );
  // 500 expected per shard; a binomial's sd is about 21, so ±100 is ~5 sd.
  for (const c of counts) assert.ok(Math.abs(c - paths.length / n) < 100, `shard sizes ${counts}`);
  console.log(`# shard sizes of ${paths.length} files over ${n}: ${counts.join(' ')}`);
  // A shard is a function of the path alone, so adding files moves none: pinned values catch a changed hash.
  assert.deepEqual(
    ['a.png', 'case-1/slide-00001.png', 'x/y/z.tif'].map((p) => shardOf(p, 1000)),
    ['a.png', 'case-1/slide-00001.png', 'x/y/z.tif'].map((p) => Number(BigInt('0x' + createHash('sha256').update(p).digest('hex').slice(0, 8)) % 1000n)),
  );
  assert.equal(shardOf('a.png', 1), 0, 'one shard holds everything');
});

test('K/N from --shard, from Slurm array variables, from JOB_COMPLETION_INDEX with --shards', () => {
  const none = {};
  assert.deepEqual(resolveShard({ shard: '2/4' }, none), { index: 2, count: 4, source: '--shard 2/4' });
  assert.equal(resolveShard({}, none), undefined, 'no flag, no scheduler: every file');
  const slurm = { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_COUNT: '8', SLURM_ARRAY_TASK_MIN: '0' };
  assert.deepEqual(pick(resolveShard({}, slurm)), [5, 8]);
  assert.deepEqual(
    pick(resolveShard({ shards: '8' }, { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '3' })),
    [7, 8],
    'a resubmitted subset',
  );
  assert.deepEqual(pick(resolveShard({ shard: '0/1' }, slurm)), [0, 1], '--shard wins over the environment');
  assert.deepEqual(pick(resolveShard({ shards: '6' }, { JOB_COMPLETION_INDEX: '3' })), [3, 6]);
  assert.deepEqual(pick(resolveShard({ shards: '4' }, { SLURM_ARRAY_TASK_ID: '2' })), [2, 4]);
});

test('bad shard settings are one line that says what to pass', () => {
  const cases: [Parameters<typeof resolveShard>[0], NodeJS.ProcessEnv, RegExp][] = [
    [{ shard: '4/4' }, {}, /--shard 4\/4: shard 4 is not one of 0\.\.3 \(K counts from 0\)/],
    [{ shard: '1-4' }, {}, /--shard 1-4: expected K\/N, this task's shard K of N \(K from 0 to N-1\), e\.g\. --shard 0\/4/],
    [{ shard: '0/0' }, {}, /--shard 0: expected a number of shards from 1 to 100000/],
    [{ shard: '0/2', shards: '2' }, {}, /give --shard K\/N or --shards N, not both/],
    [{ shards: '3' }, {}, /--shards 3: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; give this task's shard with --shard K\/3/],
    [{}, { JOB_COMPLETION_INDEX: '2' }, /JOB_COMPLETION_INDEX=2 is set .* pass --shards N \(the Job's completions\), or --shard 0\/1/],
    [{ shards: '2' }, { JOB_COMPLETION_INDEX: '2' }, /JOB_COMPLETION_INDEX=2: shard 2 is not one of 0\.\.1 \(the Job's completions must be 2\)/],
    [
      {},
      { SLURM_ARRAY_TASK_ID: '9', SLURM_ARRAY_TASK_COUNT: '4' },
      /SLURM_ARRAY_TASK_COUNT=4: shard 9 is not one of 0\.\.3 \(submit with --array=0-3, one task per shard/,
    ],
    [
      {},
      { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '2', SLURM_ARRAY_TASK_MIN: '3', SLURM_ARRAY_TASK_MAX: '7' },
      /the array is 3-7, not 0-1, so the task count is not the number of shards; pass --shards N/,
    ],
    [{ shards: '4' }, { SLURM_ARRAY_TASK_ID: '4' }, /SLURM_ARRAY_TASK_ID=4: shard 4 is not one of 0\.\.3 \(with --shards 4, submit tasks 0-3\)/],
  ];
  for (const [opts, env, pattern] of cases) {
    assert.throws(
      () => resolveShard(opts, env),
      (err: unknown) => err instanceof UserError && err.exitCode === 2 && pattern.test(err.message) && !err.message.includes('\n'),
      `${JSON.stringify(opts)} ${JSON.stringify(env)}`,
    );
  }
});

function pick(s: Shard | undefined): [number, number] | undefined {
  return s && [s.index, s.count];
}

const INFO: IndexInfo = {
  format: 'biomedclip-index',
  version: 2,
  root: '/data',
  model: { dir: 'm', fingerprint: 'x' },
  embedDim: 4,
  dtype: 'float32',
  normalized: true,
  count: 0,
  complete: false,
  skipped: [],
  updated: '',
};

test('index.json: the index is complete when every shard of N has finished; skipped files are kept per shard', () => {
  const shard = (index: number): Shard => ({ index, count: 3, source: '--shard' });
  const bad = (k: number) => paths.find((p) => shardOf(p, 3) === k) as string;
  let info = { ...INFO };
  info = finishedInfo(info, shard(0), { skipped: [{ path: bad(0), error: 'truncated' }], complete: true });
  info = finishedInfo(info, shard(2), { skipped: [], complete: true });
  assert.deepEqual([info.shards, info.complete], [{ count: 3, done: [0, 2] }, false]);
  info = finishedInfo(info, shard(1), { skipped: [{ path: bad(1), error: 'empty' }], complete: false });
  assert.equal(info.complete, false, 'an interrupted shard is not done');
  info = finishedInfo(info, shard(1), { skipped: [{ path: bad(1), error: 'empty' }], complete: true });
  assert.deepEqual([info.shards?.done, info.complete], [[0, 1, 2], true]);
  assert.deepEqual(
    info.skipped.map((s) => s.path),
    [bad(0), bad(1)],
    "each shard's skipped files once",
  );
  // Shard 0 rerun after its file was fixed: its own skipped entry goes, the others' stay.
  info = finishedInfo(info, shard(0), { skipped: [], complete: true });
  assert.deepEqual(
    info.skipped.map((s) => s.path),
    [bad(1)],
  );
  // Another N starts over; an unsharded run forgets shards.
  assert.deepEqual(finishedInfo(info, { index: 0, count: 2, source: '' }, { skipped: [], complete: true }).shards, { count: 2, done: [0] });
  const whole = finishedInfo(info, undefined, { skipped: [], complete: true });
  assert.deepEqual([whole.shards, whole.complete], [undefined, true]);
});

test('writer locks: shards of one N write together; a whole-index run or another N is refused, naming the holder', async () => {
  const dir = path.join(root, 'locks');
  mkdirSync(dir);
  const a = await acquireWriterLock(dir, { index: 0, count: 4 });
  const b = await acquireWriterLock(dir, { index: 1, count: 4 });
  assert.equal(await lockHolder(dir), process.pid, 'search sees a writer');
  await assert.rejects(acquireWriterLock(dir, { index: 1, count: 4 }), /is being written by process \d+; wait for it to finish/);
  await assert.rejects(
    acquireWriterLock(dir),
    /being written by process \d+ \(shard [01]\/4\), which excludes this run; wait for it to finish, or run shards of the same N/,
  );
  await assert.rejects(acquireWriterLock(dir, { index: 0, count: 2 }), /\(shard [01]\/4\), which excludes this run \(shard 0\/2\)/);
  await a.release();
  await b.release();
  assert.equal(await lockHolder(dir), undefined);
  const whole = await acquireWriterLock(dir);
  await assert.rejects(acquireWriterLock(dir, { index: 0, count: 4 }), /\(the whole index\), which excludes this run \(shard 0\/4\)/);
  await whole.release();
  (await acquireWriterLock(dir, { index: 3, count: 4 })).release();
});
