/**
 * Bringing a store up to date with its files before anything is embedded, so that neither `index` nor the
 * evaluation cache ever answers from an embedding of bytes that are no longer there: files that changed
 * since they were embedded, or whose row holds values search would refuse (rows.ts), are returned to be
 * embedded again into their own rows, and the rows of files that are gone are dropped when `prune` says so.
 * (`index` prunes only when asked, `--prune`: a folder unmounted or half-synced when it runs must not
 * silently empty an index that took days to build; the evaluation cache always prunes, it is a cache.)
 *
 * "Changed" means another size or mtime, as make and rsync decide: reading and hashing every file on every
 * run would cost as much as decoding it. So a file copied again without keeping its mtime (`cp` without
 * `-p`) or touched is embedded again even when its bytes are the same: a few wasted forward passes, never a
 * stale embedding, and no manual step.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { IndexWriter } from './index-store.js';

export interface Refreshed {
  /** Files gone since they were embedded: their rows were dropped (with `prune`) or kept (without). */
  removed: string[];
  /** Files whose size or mtime changed: to embed again. */
  changed: string[];
  /** Files unchanged but whose row holds NaN, Inf or a non-unit vector: to embed again. */
  repaired: string[];
}

/**
 * @param root     the folder the store's paths are relative to
 * @param badRows  paths whose rows the writer found unusable when it opened
 * @param present  the files that count as there (index: the listing); without it, any file that exists
 * @param prune    drop the rows of the files that are gone (else they are only reported)
 */
export async function refreshStore(writer: IndexWriter, root: string, badRows: string[], opts: { present?: Set<string>; prune: boolean }): Promise<Refreshed> {
  const { present, prune } = opts;
  const out: Refreshed = { removed: [], changed: [], repaired: [] };
  const bad = new Set(badRows);
  for (const [rel, was] of writer.indexed) {
    const now = present && !present.has(rel) ? undefined : await fs.stat(path.join(root, rel)).catch(() => undefined);
    if (!now?.isFile()) out.removed.push(rel);
    else if (now.size !== was.size || now.mtimeMs !== was.mtimeMs) out.changed.push(rel);
    else if (bad.has(rel)) out.repaired.push(rel);
  }
  if (prune) await writer.drop(out.removed);
  return out;
}
