/**
 * Can a folder be created (or written) at a path? Asked before a long run, so a bad `--out` or `--cache`
 * fails in a second with a line that names the path the user gave, instead of an hour later with Node's
 * `EACCES: permission denied, mkdir '.report.tmp-81-3fa2'` naming a temporary file the user never chose.
 *
 * The probe creates nothing that stays: it finds the nearest existing ancestor and, when that is a folder,
 * makes and removes one temporary folder inside it. (Checking permission bits would be wrong for root and
 * for ACLs; trying is the only answer the kernel stands behind.)
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tempPathFor } from './atomic.js';

/** Why a file-system call failed, in words, naming `where`; the code when nothing better is known. */
export function describeFsError(err: unknown, where: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return `permission denied in ${where}`;
  if (code === 'EROFS') return `${where} is on a read-only file system`;
  if (code === 'ENOSPC') return `the disk holding ${where} is full`;
  if (code === 'EDQUOT') return `the disk quota for ${where} is used up`;
  if (code === 'ENOTDIR') return `${where} is not a folder`;
  return `${code ?? String(err)} in ${where}`;
}

/**
 * Why a folder cannot be made at `dir` (or written in, when it exists), or undefined when it can. The
 * answer names the part of the path at fault: `/data/notes.txt is a file`, `permission denied in /srv`.
 */
export async function folderProblem(dir: string): Promise<string | undefined> {
  let at = path.resolve(dir);
  for (;;) {
    const stat = await fs.stat(at).catch((err: NodeJS.ErrnoException) => err);
    if (!(stat instanceof Error)) {
      if (!stat.isDirectory()) return `${at} is a file`;
      break;
    }
    if (stat.code === 'ENOTDIR') {
      // A parent of `at` is a file: climb to it so the message names that file.
      at = path.dirname(at);
      continue;
    }
    if (stat.code !== 'ENOENT') return describeFsError(stat, at);
    const parent = path.dirname(at);
    if (parent === at) return `${at} does not exist`;
    at = parent;
  }
  const probe = tempPathFor(path.join(at, 'probe'));
  try {
    await fs.mkdir(probe);
  } catch (err) {
    return describeFsError(err, at);
  }
  await fs.rmdir(probe).catch(() => undefined);
  return undefined;
}
