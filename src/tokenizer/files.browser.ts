/**
 * files.ts in the page (swapped in by scripts/build_client.ts): a page has no file system, so the
 * tokenizer is built from fetched text (`WordPieceTokenizer.fromVocabText`) and a path is a clear error.
 */
import { UserError } from '../errors.js';

export function readTextFile(file: string, what: string): string {
  throw new UserError(`${what} ${file}: a web page cannot read files by path; fetch it and pass its text (WordPieceTokenizer.fromVocabText)`);
}

export function firstExisting(): string | undefined {
  return undefined;
}
