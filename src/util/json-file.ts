/**
 * Reading a JSON file a user pointed us at (a config, say) with errors that name the file and what is wrong
 * with it, never its content: JSON.parse's own message quotes the raw bytes, so a PNG passed by mistake as
 * `--config` printed binary garbage to the terminal.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';

/** The parsed JSON of `file`; `fix` ends each error (what the user should pass instead). */
export function readJsonFile(file: string, fix: string): unknown {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${file}: not a JSON file (binary data, not UTF-8 text); ${fix}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`${file}: not valid JSON (${bytes.length} bytes that do not parse); ${fix}`);
  }
}
