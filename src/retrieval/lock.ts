/**
 * One writer per index, taken atomically, stale-lock takeover included. A second `biomedclip index` on the
 * same directory fails with a clear message instead of interleaving rows; a lock left by a killed run (its
 * process is gone) is taken over, so resuming after `kill -9` needs no manual cleanup.
 *
 * The lock is a directory, `INDEX/.lock/`, holding one file that names its owner (`owner-PID-RANDOM`). It is
 * never created empty: each contender builds a candidate directory with its owner file inside and renames
 * it onto `.lock`. rename(2) of a directory succeeds atomically onto a missing path or an empty directory
 * and fails onto a non-empty one, so exactly one contender wins, with no gap between looking and taking.
 * A stale lock is taken over by deleting the dead owner's file (by its unique name: a contender can never
 * delete a live winner's file) and renaming again; two contenders taking over the same stale lock cannot
 * both win, because after the first rename the directory is non-empty again. (The previous scheme, a pid
 * file read, deleted and re-created in three steps, let two writers in when both saw the same stale pid.)
 */
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { processAlive } from '../util/atomic-dir.js';

export interface Lock {
  release(): Promise<void>;
}

export const LOCK_NAME = '.lock';
const OWNER = /^owner-(\d+)-[0-9a-f]+$/;
const CANDIDATE = /^\.lock\.candidate-(\d+)-[0-9a-f]+$/;

/** Codes rename(2) gives when `.lock` exists: a non-empty directory, or a file (the old pid-file lock). */
const HELD = new Set(['ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EISDIR']);

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** The pids named by the lock's owner files (unrecognised names count as dead owners). */
async function owners(lock: string): Promise<{ name: string; pid: number }[] | 'file' | 'none'> {
  try {
    return (await fs.readdir(lock)).map((name) => ({ name, pid: Number(OWNER.exec(name)?.[1] ?? 0) }));
  } catch (err) {
    if (code(err) === 'ENOTDIR') return 'file';
    if (code(err) === 'ENOENT') return 'none';
    throw err;
  }
}

/**
 * A pid-file lock of an older version, taken over only if its process is gone. unlink(2) removes a file but
 * refuses a directory (EISDIR), so if another contender has meanwhile replaced the file with its own lock
 * directory, that live lock is left alone; this version never creates a lock file, so no live one is lost.
 */
async function takeOverFileLock(dir: string, lock: string): Promise<void> {
  const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).trim());
  if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) busy(dir, pid);
  await fs.unlink(lock).catch((err) => {
    if (code(err) !== 'EISDIR' && code(err) !== 'ENOENT' && code(err) !== 'EPERM') throw err;
  });
}

function busy(dir: string, pid: number): never {
  throw new UserError(`${dir} is being written by process ${pid}; wait for it to finish (or stop it, then rerun to resume)`);
}

/** Removes candidate directories that killed contenders left behind. */
async function removeDeadCandidates(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const m = CANDIDATE.exec(name);
    if (m && !processAlive(Number(m[1]))) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

/** Takes lock `name` of `dir`: the lock, or the pid of the live process holding it. */
async function take(dir: string, name: string): Promise<Lock | number> {
  const lock = path.join(dir, name);
  await removeDeadCandidates(dir);
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const candidate = path.join(dir, `.lock.candidate-${tag}`);
  const owner = `owner-${tag}`;
  await fs.mkdir(candidate);
  await fs.writeFile(path.join(candidate, owner), `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        await fs.rename(candidate, lock);
        return { release: () => release(lock, owner) };
      } catch (err) {
        if (!HELD.has(code(err) ?? '')) throw err;
      }
      const found = await owners(lock);
      if (found === 'file') await takeOverFileLock(dir, lock);
      else if (found !== 'none') {
        const live = found.find((o) => o.pid > 0 && processAlive(o.pid));
        if (live) return live.pid;
        // Stale: delete the dead owners' files by name; whoever renames first afterwards holds the lock.
        for (const o of found) await fs.rm(path.join(lock, o.name), { force: true, recursive: true });
      }
    }
    throw new UserError(`${lock}: cannot take the index lock; delete it if no \`biomedclip index\` is running`);
  } finally {
    await fs.rm(candidate, { recursive: true, force: true });
  }
}

export async function acquireLock(dir: string, name = LOCK_NAME): Promise<Lock> {
  const got = await take(dir, name);
  if (typeof got === 'number') busy(dir, got);
  return got;
}

/**
 * The lock of a writer of `dir`: the whole index (`.lock`), or one shard of an N-way run
 * (`.lock-shard-K-of-N`). Shards of the same N write side by side (their files are disjoint); anything else
 * excludes: a whole-index run with any shard, shards of different N (their files overlap). Each contender
 * takes its own lock first and then looks for a conflicting live one, so of two that start together at
 * least one sees the other (and gives way): never both.
 */
export async function acquireWriterLock(dir: string, shard?: { index: number; count: number }): Promise<Lock> {
  const name = shard ? `${LOCK_NAME}-shard-${shard.index}-of-${shard.count}` : LOCK_NAME;
  const lock = await acquireLock(dir, name);
  for (const other of await liveWriters(dir)) {
    if (other.name === name || (shard !== undefined && other.count === shard.count)) continue;
    await lock.release();
    const what = other.count === undefined ? 'the whole index' : `shard ${other.index}/${other.count}`;
    throw new UserError(
      `${dir} is being written by process ${other.pid} (${what}), which excludes this run${shard ? ` (shard ${shard.index}/${shard.count})` : ''}; wait for it to finish, or run shards of the same N`,
    );
  }
  return lock;
}

const WRITER_LOCK = /^\.lock(?:-shard-(\d+)-of-(\d+))?$/;

/** The writer locks of `dir` held by live processes, with the shard each covers (none: the whole index). */
async function liveWriters(dir: string): Promise<{ name: string; pid: number; index?: number; count?: number }[]> {
  const out: { name: string; pid: number; index?: number; count?: number }[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = WRITER_LOCK.exec(name);
    if (!m) continue;
    const pid = await holder(path.join(dir, name));
    if (pid !== undefined) out.push({ name, pid, ...(m[1] !== undefined ? { index: Number(m[1]), count: Number(m[2]) } : {}) });
  }
  return out;
}

/**
 * Runs `fn` holding the short lock that serializes read-modify-write of index.json between the writers of
 * one index (shards finishing together), waiting for it (a dead holder's lock is taken over).
 */
export async function withInfoLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  for (let waited = 0; ; waited += 20) {
    const got = await take(dir, `${LOCK_NAME}-info`);
    if (typeof got !== 'number') {
      try {
        return await fn();
      } finally {
        await got.release();
      }
    }
    if (waited > 120_000) busy(dir, got);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The pid of the live process holding the lock of index `dir`, or undefined when none does (no lock, or a
 * dead owner's). Readers use it to tell "being written, wait" from "interrupted, resume it".
 */
export async function lockHolder(dir: string): Promise<number | undefined> {
  return (await liveWriters(dir))[0]?.pid;
}

/** The pid of the live process holding lock folder (or old pid file) `lock`, if any. */
async function holder(lock: string): Promise<number | undefined> {
  const found = await owners(lock).catch(() => 'none' as const);
  if (found === 'none') return undefined;
  if (found === 'file') {
    const pid = Number((await fs.readFile(lock, 'utf8').catch(() => '')).trim());
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
  }
  return found.find((o) => o.pid > 0 && processAlive(o.pid))?.pid;
}

/** Deletes our owner file, then the directory (unless another writer has already renamed its own in). */
async function release(lock: string, owner: string): Promise<void> {
  await fs.rm(path.join(lock, owner), { force: true });
  await fs.rmdir(lock).catch((err) => {
    if (code(err) !== 'ENOTEMPTY' && code(err) !== 'EEXIST' && code(err) !== 'ENOENT') throw err;
  });
}
