/**
 * file-source.ts in the page (swapped in by scripts/build_client.ts): a page has no file system, so
 * weights arrive as fetched bytes (`SafetensorsFile.fromBytes`) and opening a path is a clear error.
 */
import { UserError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

export async function openFileSource(path: string): Promise<ByteSource> {
  throw new UserError(`${path}: a web page cannot open files by path; fetch the file and pass its bytes (SafetensorsFile.fromBytes)`);
}
