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

export async function acquireLock(dir: string): Promise<Lock> {
  const lock = path.join(dir, LOCK_NAME);
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
        if (live) busy(dir, live.pid);
        // Stale: delete the dead owners' files by name; whoever renames first afterwards holds the lock.
        for (const o of found) await fs.rm(path.join(lock, o.name), { force: true, recursive: true });
      }
    }
    throw new UserError(`${lock}: cannot take the index lock; delete it if no \`biomedclip index\` is running`);
  } catch (err) {
    await fs.rm(candidate, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The pid of the live process holding the lock of index `dir`, or undefined when none does (no lock, or a
 * dead owner's). Readers use it to tell "being written, wait" from "interrupted, resume it".
 */
export async function lockHolder(dir: string): Promise<number | undefined> {
  const lock = path.join(dir, LOCK_NAME);
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
