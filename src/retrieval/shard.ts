/**
 * Sharding an index run across a cluster's array jobs: N processes (machines on a shared filesystem, or
 * processes on one) each embed a disjoint 1/N of the files into the same LanceDB table.
 *
 * A file's shard is a hash of its path relative to the images folder, modulo N: deterministic (every task
 * lists the same folder and agrees on who embeds what, with no coordinator), and stable as the folder grows
 * (adding or removing files moves no other file between shards, unlike cutting the sorted list into N runs,
 * where one new file near the start would shift every boundary and make shards re-embed each other's files).
 *
 * Which shard a process is comes from `--shard K/N`, or from the scheduler that started it: Slurm array jobs
 * set SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT; Kubernetes Indexed Jobs set JOB_COMPLETION_INDEX (the
 * number of shards, the Job's `completions`, is not passed to the pod: give it with `--shards N`).
 */
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';

export interface Shard {
  /** This process's shard, 0 ≤ index < count. */
  index: number;
  count: number;
  /** Where K/N came from: '--shard', or the environment variable(s) read. */
  source: string;
}

/** The shard (0..count-1) of a file, by the first 4 bytes of the SHA-256 of its relative path. */
export function shardOf(relPath: string, count: number): number {
  return createHash('sha256').update(relPath).digest().readUInt32BE(0) % count;
}

/** Whether `relPath` is this shard's to embed (every path is, without sharding). */
export function inShard(relPath: string, shard: Shard | undefined): boolean {
  return shard === undefined || shardOf(relPath, shard.count) === shard.index;
}

/** "3/8" */
export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

const MAX_SHARDS = 100_000;

function count(text: string, what: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > MAX_SHARDS) throw new UserError(`${what} ${text}: expected a number of shards from 1 to ${MAX_SHARDS}`, 2);
  return n;
}

function checked(index: number, n: number, source: string, hint: string): Shard {
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new UserError(`${source}: shard ${index} is not one of 0..${n - 1} (${hint})`, 2);
  return { index, count: n, source };
}

/**
 * This process's shard: from `--shard K/N`, else `--shards N` with K from the scheduler, else from Slurm's
 * array variables alone; undefined (every file) when none applies.
 */
export function resolveShard(opts: { shard?: string; shards?: string }, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (opts.shard !== undefined) {
    if (opts.shards !== undefined) throw new UserError('give --shard K/N or --shards N, not both', 2);
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(opts.shard);
    if (!m) throw new UserError(`--shard ${opts.shard}: expected K/N, this task's shard K of N (K from 0 to N-1), e.g. --shard 0/4`, 2);
    return checked(Number(m[1]), count(m[2], '--shard'), `--shard ${opts.shard}`, 'K counts from 0');
  }
  const slurm = env.SLURM_ARRAY_TASK_ID;
  const k8s = env.JOB_COMPLETION_INDEX;
  if (opts.shards !== undefined) {
    const n = count(opts.shards, '--shards');
    if (slurm !== undefined) return checked(Number(slurm), n, `SLURM_ARRAY_TASK_ID=${slurm}`, `with --shards ${n}, submit tasks 0-${n - 1}`);
    if (k8s !== undefined) return checked(Number(k8s), n, `JOB_COMPLETION_INDEX=${k8s}`, `the Job's completions must be ${n}`);
    throw new UserError(`--shards ${n}: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; give this task's shard with --shard K/${n}`, 2);
  }
  if (slurm !== undefined && env.SLURM_ARRAY_TASK_COUNT !== undefined)
    return slurmShard(slurm, count(env.SLURM_ARRAY_TASK_COUNT, 'SLURM_ARRAY_TASK_COUNT'), env);
  if (k8s !== undefined) {
    throw new UserError(
      `JOB_COMPLETION_INDEX=${k8s} is set (a Kubernetes Indexed Job) but not the number of shards: pass --shards N (the Job's completions), or --shard 0/1 to index every file in this one task`,
      2,
    );
  }
  return undefined;
}

/**
 * K/N from a Slurm array alone: K is the task id and N the task count, which is right only for an array
 * of 0..N-1 (`--array=0-7`). Any other array is refused rather than guessed: `--array=1-8` would leave
 * shard 0 to nobody, and resubmitting only the failed tasks (`--array=3,7`) makes the count 2 where the
 * index has 8 shards; with `--shards 8` the task id alone is read, so a resubmitted subset stays right.
 */
function slurmShard(id: string, n: number, env: NodeJS.ProcessEnv): Shard {
  const source = `SLURM_ARRAY_TASK_ID=${id} of SLURM_ARRAY_TASK_COUNT=${n}`;
  const { SLURM_ARRAY_TASK_MIN: min = '0', SLURM_ARRAY_TASK_MAX: max = String(n - 1), SLURM_ARRAY_TASK_STEP: step = '1' } = env;
  if (Number(min) !== 0 || Number(max) !== n - 1 || Number(step) !== 1) {
    throw new UserError(
      `${source}: the array is ${min}-${max}${step !== '1' ? `:${step}` : ''}, not 0-${n - 1}, so the task count is not the number of shards; pass --shards N (tasks 0..N-1 of N) or --shard K/N`,
      2,
    );
  }
  return checked(Number(id), n, source, `submit with --array=0-${n - 1}, one task per shard, or pass --shard K/N`);
}
