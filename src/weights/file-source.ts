/**
 * Files on disk as byte sources (Node only). The browser build swaps this module for
 * file-source.browser.ts (scripts/build_client.ts lists every such seam): a page has no file system.
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

/** Opens a regular file for reading; a missing file, a directory or no permission is a UserError. */
export async function openForReading(path: string, what = 'file'): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (err) {
    throw new UserError(`${path}: cannot open ${what} (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  if (!(await handle.stat()).isFile()) {
    await handle.close();
    throw new UserError(`${path}: not a regular ${what}; pass the file itself`);
  }
  return handle;
}

/**
 * Fills `dest` from `position`, looping because one read may return less than asked (and a single read
 * is capped at 2 GiB). A file that shrank since `open` gives a UserError, not a half-filled tensor.
 */
export async function readFully(handle: fs.FileHandle, dest: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < dest.length) {
    const chunk = Math.min(dest.length - done, 1 << 30);
    const { bytesRead } = await handle.read(dest, done, chunk, position + done);
    if (bytesRead === 0) throw new UserError(`${file}: file ended early (changed while reading?); re-create it`);
    done += bytesRead;
  }
}

/** `path` as a byte source: one positional read per request, nothing cached. */
export async function openFileSource(path: string, what = 'file'): Promise<ByteSource> {
  let handle: fs.FileHandle | undefined = await openForReading(path, what);
  const { size } = await handle.stat();
  return {
    name: path,
    size,
    async read(dest, position) {
      if (!handle) throw new UserError(`${path}: file already closed; open it again`);
      await readFully(handle, dest, position, path);
    },
    async close() {
      const h = handle;
      handle = undefined;
      await h?.close();
    },
  };
}
