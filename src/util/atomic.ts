/**
 * Output files appear whole or not at all: write to a temporary file beside the target, then rename.
 * A crash, a thrown error or Ctrl-C leaves at most a `.tmp-*` file that the next run's cleanup or the
 * user can delete, never a truncated output under the real name.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` to `target` atomically. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await withAtomicFile(target, async (tmp) => {
    await fs.writeFile(tmp, data);
  });
}

/**
 * Runs `write(tmpPath)` and renames the result onto `target` only if it succeeds; on failure the temporary
 * file is removed and the error rethrown.
 */
export async function withAtomicFile<T>(target: string, write: (tmpPath: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(target);
  try {
    const result = await write(tmp);
    await fs.rename(tmp, target);
    return result;
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw outputError(target, err);
  }
}

/**
 * A file-system error of an output path as one actionable line (a raw `EISDIR ... rename '.x.tmp-1' -> 'x'`
 * names neither the real problem nor the fix); other errors are returned unchanged.
 */
export function outputError(target: string, err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = path.dirname(path.resolve(target));
  if (code === 'EISDIR') return new UserError(`${target}: is a directory; write to a file path inside it instead`);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new UserError(`${target}: the directory ${dir} does not exist; create it first`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new UserError(`${target}: cannot write there (${code}); choose another path`);
  if (code === 'ENOSPC') return new UserError(`${target}: the disk is full (ENOSPC); free some space and rerun`);
  return err;
}
