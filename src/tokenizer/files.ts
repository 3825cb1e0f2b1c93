/**
 * The tokenizer's files on disk (Node only). The browser build swaps this module for files.browser.ts
 * (scripts/build_client.ts lists every such seam): the page fetches vocab.txt and passes its text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';

/** The file's text; an unreadable file is one line naming it, what it is and `fix`. */
export function readTextFile(file: string, what: string, fix: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`cannot read ${what} ${file} (${code}); ${fix}`);
  }
}

/** The first of `names` that exists in `dir`, as a path, or undefined. */
export function firstExisting(dir: string, names: string[]): string | undefined {
  return names.map((name) => path.join(dir, name)).find((file) => fs.existsSync(file));
}
