/**
 * A directory replaced as a whole or not at all: `convert`, `download` and the demo model build the new
 * directory beside the old one (`.NAME.tmp-PID-RAND`), then swap it in with two renames, old out and new
 * in, and delete the old one last. A failure or a kill at any point before the swap leaves the previous
 * directory exactly as it was; the swap itself is two back-to-back renames, and a kill between them (the
 * only moment the name is absent) is undone by the next run, which renames the old directory back.
 *
 * Files in the old directory that the new one does not write (a README, the checkpoint itself when it was
 * converted in place) are carried over as hard links before the swap, so replacing a model never deletes
 * anything the user put there. Temporaries of killed runs (their pid no longer exists) are removed by the
 * next run: staging directories beside the target and `.FILE.tmp-PID-*` files inside it.
 */
import { existsSync, lstatSync, promises as fs, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

/** `.NAME.tmp-PID-HEX` (staging, or a temporary file of util/atomic.ts) and `.NAME.old-PID-HEX` (mid-swap). */
const TEMPORARY = /^\.(.+)\.(tmp|old)-(\d+)-[0-9a-f]+$/;

export interface ReplaceOptions {
  /** Names the builder writes itself: never carried over from the old directory. */
  owned: readonly string[];
  /** Told what was cleaned or restored. */
  onNote?: (message: string) => void;
}

/** True while process `pid` exists (EPERM: it exists but belongs to another user). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0); // signal 0 only checks that the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sibling(target: string, kind: 'tmp' | 'old'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The directory a path names, through a symlink: replacing `models/current -> v2` replaces v2, keeps the link. */
function resolveTarget(target: string): string {
  const abs = path.resolve(target);
  try {
    return lstatSync(abs).isSymbolicLink() ? realpathSync(abs) : abs;
  } catch {
    return abs;
  }
}

/** Temporaries of dead processes in `dir` whose target name is `base` (any name when undefined). */
function deadTemporaries(dir: string, base?: string): { name: string; kind: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const m = TEMPORARY.exec(name);
    if (m === null || (base !== undefined && m[1] !== base) || processAlive(Number(m[3]))) return [];
    return [{ name, kind: m[2] }];
  });
}

/**
 * Repairs what killed runs left around `target`: restores the previous directory if a run died mid-swap,
 * then removes dead runs' staging directories and temporary files. Safe to call at any time; synchronous so
 * that model resolution can call it too.
 */
export function recoverDirectory(target: string, onNote?: (message: string) => void): void {
  const real = resolveTarget(target);
  const parent = path.dirname(real);
  const stale = deadTemporaries(parent, path.basename(real));
  const old = stale.filter((t) => t.kind === 'old');
  if (!existsSync(real) && old.length > 0) {
    renameSync(path.join(parent, old[0].name), real);
    onNote?.(`${real}: restored the previous directory (a run was killed while swapping in a new one)`);
  }
  const leftovers = [
    ...stale.filter((t) => existsSync(path.join(parent, t.name))).map((t) => path.join(parent, t.name)),
    ...deadTemporaries(real).map((t) => path.join(real, t.name)),
  ];
  for (const p of leftovers) rmSync(p, { recursive: true, force: true });
  if (leftovers.length > 0) onNote?.(`removed ${leftovers.length} temporary file(s) left by killed runs: ${leftovers.map((p) => path.basename(p)).join(', ')}`);
}

/** Hard-links `src` (a file, a symlink or a whole tree) to `dst`; copies where the file system refuses links. */
async function linkTree(src: string, dst: string): Promise<void> {
  const st = await fs.lstat(src);
  if (st.isDirectory()) {
    await fs.mkdir(dst);
    for (const name of await fs.readdir(src)) await linkTree(path.join(src, name), path.join(dst, name));
  } else if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(src), dst);
  } else {
    await fs.link(src, dst).catch(() => fs.copyFile(src, dst));
  }
}

/** Carries the old directory's entries the builder did not write into the staging directory. */
async function carryOver(target: string, staging: string, owned: readonly string[]): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(target);
  } catch {
    return; // no previous directory
  }
  const written = new Set(await fs.readdir(staging));
  for (const name of names) {
    if (owned.includes(name) || written.has(name) || TEMPORARY.test(name)) continue;
    await linkTree(path.join(target, name), path.join(staging, name));
  }
}

/** Old out, new in, old deleted; if the second rename fails the old directory goes back. */
async function swap(target: string, staging: string): Promise<void> {
  const old = sibling(target, 'old');
  let moved = false;
  try {
    await fs.rename(target, old);
    moved = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    await fs.rename(staging, target);
  } catch (err) {
    if (moved) await fs.rename(old, target).catch(() => undefined);
    throw err;
  }
  if (moved) await fs.rm(old, { recursive: true, force: true });
}

/**
 * Builds a new `target` directory with `build(staging)` and swaps it in only if `build` succeeds; on any
 * error the staging directory is removed and `target` is untouched. The parent directory must exist.
 */
export async function replaceDirectory<T>(target: string, build: (staging: string) => Promise<T>, opts: ReplaceOptions): Promise<T> {
  const real = resolveTarget(target);
  recoverDirectory(real, opts.onNote);
  const staging = sibling(real, 'tmp');
  await fs.mkdir(staging);
  try {
    const result = await build(staging);
    await carryOver(real, staging, opts.owned);
    await swap(real, staging);
    return result;
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    throw err;
  }
}
